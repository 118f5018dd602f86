-- How far enforce_retention has already deleted each metric's readings, so that a run looks only
-- at readings that expired since the last one instead of probing every chunk for every metric
-- (see register/jobs/retention.py for why this stays exact).
CREATE TABLE retention_watermarks (
    metric_id       integer PRIMARY KEY REFERENCES device_metrics (id),
    -- Every reading of the metric older than this was deleted, and the ingester refuses one.
    enforced_before timestamptz NOT NULL,
    -- The device_metrics row's version (its xmin) the mark was made under. Any change to the row
    -- (a retention lengthened then shortened again, say) gives it a new version, and the mark
    -- no longer counts.
    metric_version  xid NOT NULL
);

-- The scheduled jobs that keep the register's promises (register/jobs/), and what they record.

-- Every run of every job: when, what it did, and the error if it failed. The public system page
-- and `lamplighter jobs list` read the latest run of each job from here.
CREATE TABLE job_runs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job           text NOT NULL CONSTRAINT job_runs_job_format CHECK (job ~ '^[a-z][a-z_]*$'),
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    -- The interval the scheduler ran it at (seconds); NULL for a run by hand.
    interval_seconds double precision CONSTRAINT job_runs_interval_positive CHECK (interval_seconds > 0),
    -- Rows the run deleted, marked or computed; NULL while it runs or when it failed.
    rows_affected bigint CONSTRAINT job_runs_rows_not_negative CHECK (rows_affected >= 0),
    -- What it did, in a line for a person (or NULL when there was nothing to do).
    result        text,
    error         text,
    CONSTRAINT job_runs_finished_after_start CHECK (finished_at IS NULL OR finished_at >= started_at)
);
CREATE INDEX job_runs_latest ON job_runs (job, started_at DESC);

-- How many readings each retention run deleted, for each device and metric.
CREATE TABLE retention_deletions (
    run_id    bigint  NOT NULL REFERENCES job_runs (id) ON DELETE CASCADE,
    device_id integer NOT NULL REFERENCES devices (id),
    metric_id integer NOT NULL REFERENCES device_metrics (id),
    deleted   bigint  NOT NULL CONSTRAINT retention_deletions_deleted_positive CHECK (deleted > 0),
    PRIMARY KEY (run_id, device_id, metric_id)
);
CREATE INDEX retention_deletions_device ON retention_deletions (device_id, run_id);

-- How often a device declares it reports; NULL when it does not say (it is then never marked
-- as not reporting).
ALTER TABLE devices ADD COLUMN reporting_interval interval
    CONSTRAINT devices_reporting_interval_positive CHECK (reporting_interval > interval '0');

-- Devices the mark_silent job found overdue. `since` is when the device was last heard from
-- (or when it was expected first, if it never was). The mark stands only while the device has
-- not been heard from after `since`: a reading that arrives ends it at once, and the next run
-- removes the row.
CREATE TABLE device_silence (
    device_id integer PRIMARY KEY REFERENCES devices (id),
    since     timestamptz NOT NULL,
    marked_at timestamptz NOT NULL
);

-- The compliance job's figures. For each declared metric: its oldest stored reading (NULL when
-- nothing is stored) when the figures were computed.
CREATE TABLE metric_compliance (
    metric_id   integer PRIMARY KEY REFERENCES device_metrics (id),
    device_id   integer NOT NULL REFERENCES devices (id),
    oldest_at   timestamptz,
    computed_at timestamptz NOT NULL
);
CREATE INDEX metric_compliance_device ON metric_compliance (device_id);

-- For each device: refused messages in the last 7 and 30 days, by reason code.
CREATE TABLE device_refusals (
    device_id    integer NOT NULL REFERENCES devices (id),
    reason       text    NOT NULL,
    last_7_days  integer NOT NULL CONSTRAINT device_refusals_7_not_negative CHECK (last_7_days >= 0),
    last_30_days integer NOT NULL CONSTRAINT device_refusals_30_not_negative CHECK (last_30_days >= last_7_days),
    computed_at  timestamptz NOT NULL,
    PRIMARY KEY (device_id, reason)
);

-- Quarantine keeps payloads for days only (they may hold personal data). Before purge_quarantine
-- deletes records, it adds them here, in the same transaction, as counts without payloads: the
-- refusal counts over 30 days outlive the records themselves.
CREATE TABLE refusals_by_day (
    day       date    NOT NULL,
    device_id integer NOT NULL REFERENCES devices (id),
    reason    text    NOT NULL,
    refused   integer NOT NULL CONSTRAINT refusals_by_day_refused_positive CHECK (refused > 0),
    PRIMARY KEY (day, device_id, reason)
);

-- The compliance job's figures for each organisation, so that its page need not add up the
-- figures of thousands of devices: its devices, how many keep every metric's oldest stored
-- reading within the declared retention (plus one interval of the retention job), and its
-- devices' refused data over the last 7 and 30 days.
CREATE TABLE organisation_compliance (
    organisation_id  integer PRIMARY KEY REFERENCES organisations (id),
    devices          integer NOT NULL CONSTRAINT organisation_compliance_devices_not_negative CHECK (devices >= 0),
    within_retention integer NOT NULL
                     CONSTRAINT organisation_compliance_within_counted CHECK (within_retention BETWEEN 0 AND devices),
    refused_7_days   bigint  NOT NULL CONSTRAINT organisation_compliance_7_not_negative CHECK (refused_7_days >= 0),
    refused_30_days  bigint  NOT NULL CONSTRAINT organisation_compliance_30_not_negative CHECK (refused_30_days >= refused_7_days),
    computed_at      timestamptz NOT NULL
);

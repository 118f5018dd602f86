-- When each device was last heard from, kept by the ingester.
--
-- A table of its own rather than columns on `devices`: the ingester writes it every few seconds,
-- and a write to `devices` would fire the register_changed trigger and touch the audited row.
-- The ingester keeps the latest times in memory and writes them in one statement per interval,
-- so the cost does not grow with the message rate.
CREATE TABLE device_activity (
    device_id      integer PRIMARY KEY REFERENCES devices (id),
    -- Any message attributed to the device, stored or quarantined.
    last_seen_at   timestamptz NOT NULL,
    -- The newest time of a reading that was stored.
    last_stored_at timestamptz
);

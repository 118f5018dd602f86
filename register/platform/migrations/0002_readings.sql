-- Sensor readings, one row per device, metric and time.
--
-- Devices and metrics are referred to by compact integer ids (the register's tables own them),
-- so a row stays small: 8 + 4 + 4 + 8 bytes of data.
CREATE TABLE readings (
    time      timestamptz      NOT NULL,
    device_id integer          NOT NULL,
    metric_id integer          NOT NULL,
    value     double precision NOT NULL,
    CONSTRAINT readings_value_finite CHECK (value <> 'NaN' AND value <> 'Infinity' AND value <> '-Infinity')
);

-- One-day chunks: retention periods are whole days or more, and drop_chunks removes whole chunks.
-- No default index on time alone: the unique index below serves every query and costs one
-- index write per row instead of two.
SELECT create_hypertable('readings', 'time', chunk_time_interval => INTERVAL '1 day',
                         create_default_indexes => false);

-- A message delivered twice must not make a second row: the ingester inserts ON CONFLICT DO
-- NOTHING against this index. It also serves "readings of a device's metric over time".
CREATE UNIQUE INDEX readings_device_metric_time ON readings (device_id, metric_id, time DESC);

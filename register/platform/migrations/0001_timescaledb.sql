-- TimescaleDB gives the readings table its time partitioning and drop_chunks for retention.
-- Lamplighter works on the Apache edition: no policies, compression or continuous aggregates.
CREATE EXTENSION IF NOT EXISTS timescaledb;

-- A message the broker delivers again (after a crash or a lost acknowledgement) must not make a
-- second quarantine record, or the counts of refused data shown for each device would grow with
-- every redelivery. The ingester gives each record a fingerprint: a SHA-256 of the source, topic,
-- payload and reason code, and inserts ON CONFLICT DO NOTHING. The same bad payload sent again
-- is therefore counted once, which is also what "distinct refused messages" means.
ALTER TABLE quarantine ADD COLUMN fingerprint bytea
    CONSTRAINT quarantine_fingerprint_sha256 CHECK (octet_length(fingerprint) = 32);
CREATE UNIQUE INDEX quarantine_fingerprint ON quarantine (fingerprint);

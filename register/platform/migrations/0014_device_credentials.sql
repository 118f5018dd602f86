-- Each device's MQTT credential on the broker (register/credentials/): its username is the
-- device's public id, so an ACL pattern (`lamplighter/+/%u/up`) lets it publish only as itself.
-- Only Mosquitto's `$7$` hash (PBKDF2-SHA512) of the password is kept; the password is shown
-- once. Issuing a new credential revokes the old one; so does decommissioning the device.
CREATE TABLE device_credentials (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id     integer NOT NULL REFERENCES devices (id),
    password_hash text NOT NULL CONSTRAINT device_credentials_mosquitto_hash
                  CHECK (password_hash ~ '^\$7\$[0-9]+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$'),
    issued_at     timestamptz NOT NULL DEFAULT now(),
    issued_by     text NOT NULL,
    revoked_at    timestamptz,
    revoked_by    text
);
-- At most one credential of a device works at a time.
CREATE UNIQUE INDEX device_credentials_one_active ON device_credentials (device_id)
    WHERE revoked_at IS NULL;

-- The broker's files follow the credentials: every change tells their writer to write them
-- again (a channel of its own: the ingester's `register_changed` is about what devices send).
CREATE FUNCTION notify_broker_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('broker_credentials_changed', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER device_credentials_notify AFTER INSERT OR UPDATE OR DELETE ON device_credentials
    FOR EACH STATEMENT EXECUTE FUNCTION notify_broker_credentials_changed();

-- Broker accounts that are not devices: Lamplighter's own clients (the ingester, the simulator)
-- and integrations an administrator lets in (a LoRaWAN network server publishing uplinks).
-- Each has the topic filters it may subscribe to (`reads`) and publish to (`writes`), and only
-- Mosquitto's `$7$` hash of its password. A username always has a dot in it, and a device's
-- public id never does, so an account can never pass for a device or a device for an account.
CREATE TABLE broker_accounts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL CONSTRAINT broker_accounts_username_has_a_dot
                  CHECK (username ~ '^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)+$' AND length(username) <= 64),
    password_hash text NOT NULL CONSTRAINT broker_accounts_mosquitto_hash
                  CHECK (password_hash ~ '^\$7\$[0-9]+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$'),
    reads         text[] NOT NULL DEFAULT '{}',
    writes        text[] NOT NULL DEFAULT '{}',
    purpose       text NOT NULL CHECK (purpose <> ''),
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text NOT NULL,
    revoked_at    timestamptz,
    revoked_by    text,
    -- A topic filter is a line of the broker's ACL: no blank, no control character, no `%`
    -- (Mosquitto's pattern substitution) may ever reach it.
    CONSTRAINT broker_accounts_plain_filters CHECK (
        array_to_string(reads || writes, '') !~ '[[:space:][:cntrl:]%]'
        AND '' <> ALL (reads || writes)
    )
);
-- One working account of a name at a time.
CREATE UNIQUE INDEX broker_accounts_one_active ON broker_accounts (username)
    WHERE revoked_at IS NULL;

CREATE TRIGGER broker_accounts_notify AFTER INSERT OR UPDATE OR DELETE ON broker_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION notify_broker_credentials_changed();

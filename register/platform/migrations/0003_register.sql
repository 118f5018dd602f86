-- The register: organisations, devices, their declared metrics, people and tokens, the audit
-- log, and quarantine. Python validates everything first (with better messages); the database
-- checks the rules again, so that no other path can break them.

CREATE TABLE organisations (
    id                 integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug               text NOT NULL UNIQUE
                       CONSTRAINT organisations_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 64),
    name               text NOT NULL CONSTRAINT organisations_name_present CHECK (btrim(name) <> ''),
    kind               text NOT NULL
                       CONSTRAINT organisations_kind_known CHECK (kind IN (
                           'borough', 'regional_authority', 'transport_authority', 'public_body',
                           'vendor', 'university', 'business', 'community', 'other')),
    contact_email      text NOT NULL
                       CONSTRAINT organisations_contact_email_format CHECK (contact_email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    privacy_notice_url text CONSTRAINT organisations_privacy_notice_url_format CHECK (privacy_notice_url ~ '^https?://'),
    dpo_contact        text,
    website            text CONSTRAINT organisations_website_format CHECK (website ~ '^https?://'),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
    id                integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id         text NOT NULL UNIQUE
                      CONSTRAINT devices_public_id_format CHECK (public_id ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(public_id) <= 64),
    organisation_id   integer NOT NULL REFERENCES organisations (id),
    name              text NOT NULL CONSTRAINT devices_name_present CHECK (btrim(name) <> ''),
    description       text NOT NULL DEFAULT '',
    status            text NOT NULL
                      CONSTRAINT devices_status_known CHECK (status IN ('planned', 'active', 'suspended', 'decommissioned')),
    latitude          double precision NOT NULL CONSTRAINT devices_latitude_range CHECK (latitude BETWEEN -90 AND 90),
    longitude         double precision NOT NULL CONSTRAINT devices_longitude_range CHECK (longitude BETWEEN -180 AND 180),
    place             text NOT NULL CONSTRAINT devices_place_present CHECK (btrim(place) <> ''),
    -- DTPR element ids (see register/vocab/terms.tsv).
    technology        text[] NOT NULL CONSTRAINT devices_technology_present CHECK (cardinality(technology) >= 1),
    purposes          text[] NOT NULL CONSTRAINT devices_purposes_one_to_three CHECK (cardinality(purposes) BETWEEN 1 AND 3),
    data_types        text[] NOT NULL DEFAULT '{}',
    processing        text[] NOT NULL DEFAULT '{}',
    storage           text[] NOT NULL DEFAULT '{}',
    access            text[] NOT NULL DEFAULT '{}',
    -- UK GDPR Article 6(1) lawful basis, required when any declared metric is personal data.
    legal_basis       text CONSTRAINT devices_legal_basis_known CHECK (legal_basis IN (
                          'consent', 'contract', 'legal_obligation', 'vital_interests',
                          'public_task', 'legitimate_interests')),
    dpia_url          text CONSTRAINT devices_dpia_url_format CHECK (dpia_url ~ '^https?://'),
    installed_on      date,
    decommissioned_on date,
    contact_email     text CONSTRAINT devices_contact_email_format CHECK (contact_email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    -- External ids, to map LoRaWAN network servers' messages to this entry.
    dev_eui           text UNIQUE CONSTRAINT devices_dev_eui_format CHECK (dev_eui ~ '^[0-9A-F]{16}$'),
    ttn_device_id     text UNIQUE,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT devices_decommissioned_has_date
        CHECK ((status = 'decommissioned') = (decommissioned_on IS NOT NULL)),
    CONSTRAINT devices_dates_in_order
        CHECK (decommissioned_on IS NULL OR installed_on IS NULL OR decommissioned_on >= installed_on)
);
CREATE INDEX devices_organisation ON devices (organisation_id);

-- What a device may send. A metric taken off a device is withdrawn, not deleted: its readings
-- and history still refer to it, and declaring the same key again brings the same row back.
CREATE TABLE device_metrics (
    id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id    integer NOT NULL REFERENCES devices (id),
    key          text NOT NULL CONSTRAINT device_metrics_key_format CHECK (key ~ '^[a-z0-9][a-z0-9_-]*$' AND length(key) <= 64),
    label        text NOT NULL CONSTRAINT device_metrics_label_present CHECK (btrim(label) <> ''),
    -- A SenML unit symbol; only a yes/no (boolean) metric may have none.
    unit         text NOT NULL,
    value_kind   text NOT NULL DEFAULT 'number'
                 CONSTRAINT device_metrics_value_kind_known CHECK (value_kind IN ('number', 'boolean')),
    personal     boolean NOT NULL DEFAULT false,
    -- How long readings are kept; zero means "not retained".
    retention    interval NOT NULL CONSTRAINT device_metrics_retention_not_negative CHECK (retention >= interval '0'),
    open_data    boolean NOT NULL DEFAULT false,
    withdrawn_at timestamptz,
    UNIQUE (device_id, key),
    CONSTRAINT device_metrics_unit_present CHECK (unit <> '' OR value_kind = 'boolean'),
    -- Lets readings name a (metric, device) pair that must belong together.
    UNIQUE (id, device_id),
    -- A personal-data metric's raw values are never published.
    CONSTRAINT device_metrics_personal_never_open CHECK (NOT (personal AND open_data))
);

CREATE TABLE users (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id integer NOT NULL REFERENCES organisations (id),
    email           text NOT NULL CONSTRAINT users_email_format CHECK (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    display_name    text NOT NULL CONSTRAINT users_display_name_present CHECK (btrim(display_name) <> ''),
    role            text NOT NULL CONSTRAINT users_role_known CHECK (role IN ('engineer', 'admin')),
    -- A salted, memory-hard hash (scrypt); the password itself is never stored.
    password_hash   text NOT NULL CONSTRAINT users_password_hash_format CHECK (password_hash LIKE 'scrypt$%'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz
);
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));

CREATE TABLE api_tokens (
    id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      integer NOT NULL REFERENCES users (id),
    name         text NOT NULL,
    -- The token's first characters, so a person can tell their tokens apart; never enough to use.
    prefix       text NOT NULL,
    -- SHA-256 of the whole token: tokens are long and random, so a fast hash is enough.
    token_hash   text NOT NULL UNIQUE CONSTRAINT api_tokens_hash_format CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- Every change to the register: who, when, and each changed field's value before and after.
-- A device's history is public; the actor's name is not (see register/audit.py).
CREATE TABLE audit_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor_user_id   integer REFERENCES users (id),
    actor           text NOT NULL,
    organisation_id integer REFERENCES organisations (id),
    entity          text NOT NULL CONSTRAINT audit_events_entity_known CHECK (entity IN ('organisation', 'device')),
    entity_id       integer NOT NULL,
    action          text NOT NULL
                    CONSTRAINT audit_events_action_known CHECK (action IN ('create', 'update', 'decommission')),
    changes         jsonb NOT NULL,
    note            text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_entity ON audit_events (entity, entity_id, at);

-- What the ingester refused, and why. Kept briefly: a payload may hold personal data.
CREATE TABLE quarantine (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    source       text NOT NULL,
    topic        text NOT NULL,
    -- At most the first bytes of the payload (a bounded prefix), and its full size.
    payload      bytea NOT NULL,
    payload_size integer NOT NULL CONSTRAINT quarantine_payload_size_not_negative CHECK (payload_size >= 0),
    reason       text NOT NULL CONSTRAINT quarantine_reason_format CHECK (reason ~ '^[a-z][a-z_]*$'),
    message      text NOT NULL,
    device_id    integer REFERENCES devices (id)
);
CREATE INDEX quarantine_received ON quarantine (received_at);
CREATE INDEX quarantine_device ON quarantine (device_id, received_at) WHERE device_id IS NOT NULL;

-- Readings now point at the register: a declared metric, of the device the reading names.
ALTER TABLE readings
    ADD CONSTRAINT readings_metric FOREIGN KEY (metric_id, device_id) REFERENCES device_metrics (id, device_id);

-- A running ingester keeps the register in memory; every change tells it what to reload.
CREATE FUNCTION notify_register_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed record := COALESCE(NEW, OLD);
BEGIN
    PERFORM pg_notify('register_changed', json_build_object(
        'table', TG_TABLE_NAME,
        'id', changed.id,
        'device_id', CASE TG_TABLE_NAME
                         WHEN 'devices' THEN changed.id
                         WHEN 'device_metrics' THEN (to_jsonb(changed) ->> 'device_id')::integer
                     END
    )::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER organisations_notify AFTER INSERT OR UPDATE OR DELETE ON organisations
    FOR EACH ROW EXECUTE FUNCTION notify_register_changed();
CREATE TRIGGER devices_notify AFTER INSERT OR UPDATE OR DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION notify_register_changed();
CREATE TRIGGER device_metrics_notify AFTER INSERT OR UPDATE OR DELETE ON device_metrics
    FOR EACH ROW EXECUTE FUNCTION notify_register_changed();

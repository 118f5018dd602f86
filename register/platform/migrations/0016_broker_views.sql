-- Views that a production broker cluster queries instead of reading files, so that every
-- broker follows the register at once with no file to write: EMQX 5's PostgreSQL
-- authentication and authorisation, and Mosquitto with mosquitto-go-auth's postgres backend.
-- They give exactly the decisions of the embedded broker's files
-- (register/credentials/broker_files.py): the same logins, and the same allow or deny for
-- every publish and every read. tests/register/test_broker_views.py computes both on one
-- register and compares them. They serve named clients only: a production broker keeps
-- anonymous clients out (the README's "Production brokers").

-- Every working login, as the password file lists them: each working broker account, and each
-- working credential of a device that is not decommissioned (its username is the device's
-- public id). Mosquitto's `$7$<iterations>$<base64 salt>$<base64 digest>` taken apart.
CREATE VIEW broker_logins AS
SELECT username,
       password_hash,
       split_part(password_hash, '$', 3)::integer AS iterations,
       split_part(password_hash, '$', 4) AS salt_base64,
       split_part(password_hash, '$', 5) AS digest_base64
  FROM (SELECT a.username, a.password_hash
          FROM broker_accounts a
         WHERE a.revoked_at IS NULL
        UNION ALL
        SELECT d.public_id, c.password_hash
          FROM device_credentials c JOIN devices d ON d.id = c.device_id
         WHERE c.revoked_at IS NULL AND d.status <> 'decommissioned') AS working;

-- What each login may do, as the ACL says it: an account reads and writes its own filters;
-- every login writes the two device topics (broker_files.DEVICE_TOPICS, `lamplighter/+/%u/up`
-- and `/senml`) with its own username in place of `%u`, as Mosquitto applies a `pattern` line
-- to every login. For an account that is a topic no device has (an account's name has a dot,
-- a public id never), which the ingester refuses. Nothing else is allowed.
CREATE VIEW broker_rules AS
SELECT a.username, 'read'::text AS access, r.topic
  FROM broker_accounts a CROSS JOIN LATERAL unnest(a.reads) AS r(topic)
 WHERE a.revoked_at IS NULL
UNION ALL
SELECT a.username, 'write', w.topic
  FROM broker_accounts a CROSS JOIN LATERAL unnest(a.writes) AS w(topic)
 WHERE a.revoked_at IS NULL
UNION ALL
SELECT l.username, 'write', 'lamplighter/+/' || l.username || '/' || t.format
  FROM broker_logins l CROSS JOIN (VALUES ('up'), ('senml')) AS t(format);

-- EMQX 5, `password_hash_algorithm {name = pbkdf2, mac_fun = sha512, iterations = 101,
-- dk_length = 64}`: EMQX derives the key from the password and the `salt` column's bytes and
-- compares its lower-case hex with `password_hash`. The salt is a text column, so only a hash
-- whose 12 salt bytes are base64url characters (mosquitto_hash.new_salt, since this migration)
-- is here; one made with binary salt bytes (by mosquitto_passwd, or before) must be issued
-- again to work on EMQX. The iteration count is the configuration's, one for all rows.
CREATE VIEW emqx_authentication AS
SELECT username,
       encode(decode(digest_base64, 'base64'), 'hex') AS password_hash,
       encode(decode(salt_base64, 'base64'), 'escape') AS salt,
       false AS is_superuser
  FROM broker_logins
 WHERE iterations = 101
   AND encode(decode(salt_base64, 'base64'), 'escape') ~ '^[A-Za-z0-9_-]+$';

-- EMQX 5's rules, first match wins in `position` order: the allows, then a final deny of
-- everything, so that no later source (EMQX's default file source ends in `{allow, all}`)
-- and no `no_match = allow` can widen them. Reading is checked at SUBSCRIBE.
CREATE VIEW emqx_authorization AS
SELECT username,
       'allow'::text AS permission,
       CASE access WHEN 'read' THEN 'subscribe' ELSE 'publish' END AS action,
       topic,
       1 AS position
  FROM broker_rules
UNION ALL
SELECT username, 'deny', 'all', '#', 2
  FROM broker_logins;

-- mosquitto-go-auth (`auth_opt_hasher pbkdf2`, salt encoding base64): its PBKDF2 string
-- `PBKDF2$sha512$<iterations>$<base64 salt>$<base64 digest>` carries everything, so every
-- working hash is here, whatever its salt.
CREATE VIEW go_auth_users AS
SELECT username,
       'PBKDF2$sha512$' || iterations || '$' || salt_base64 || '$' || digest_base64
           AS password_hash
  FROM broker_logins;

-- mosquitto-go-auth's ACL rows: `rw` holds Mosquitto's access bits, which the ACL query tests
-- with `&`: 2 write; 5 read (1) and subscribe (4), so a reader subscribes to its filters and
-- is sent what they match.
CREATE VIEW go_auth_acl AS
SELECT username, topic, CASE access WHEN 'read' THEN 5 ELSE 2 END AS rw
  FROM broker_rules;

-- The brokers' own role: it may read these views and nothing else (a view reads its tables
-- with its owner's rights). Roles belong to the whole cluster, so it is made once, and only
-- when the migrating user may make roles; a broker logs in as a role that is a member of it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lamplighter_broker')
       AND (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
        BEGIN
            CREATE ROLE lamplighter_broker NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database of the cluster made it at the same moment
        END;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'lamplighter_broker') THEN
        GRANT SELECT ON emqx_authentication, emqx_authorization, go_auth_users, go_auth_acl
            TO lamplighter_broker;
    ELSE
        RAISE WARNING 'lamplighter_broker was not created: % may not create roles',
            current_user;
    END IF;
END
$$;

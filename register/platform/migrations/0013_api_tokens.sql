-- API tokens belong to an organisation, not to a person: a gateway's script keeps working when
-- the engineer who made its token leaves. Each records who made it (an account, or a label such
-- as the command line's), and only a SHA-256 of the secret is kept, as for links and sessions.

ALTER TABLE api_tokens ADD COLUMN organisation_id integer REFERENCES organisations (id);
-- Rows from before this migration (there should be none) take their maker's organisation.
UPDATE api_tokens t SET organisation_id = u.organisation_id FROM users u WHERE u.id = t.user_id;
ALTER TABLE api_tokens ALTER COLUMN organisation_id SET NOT NULL;

-- Who made it: an account (null for the command line), and in words, kept when it is disabled.
ALTER TABLE api_tokens RENAME COLUMN user_id TO created_by;
ALTER TABLE api_tokens ALTER COLUMN created_by DROP NOT NULL;
ALTER TABLE api_tokens ADD COLUMN created_by_label text NOT NULL DEFAULT '';
UPDATE api_tokens t SET created_by_label = u.email FROM users u WHERE u.id = t.created_by;

-- The hash as 32 bytes, like password_links and user_sessions (it was 64 hex digits).
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_hash_format;
ALTER TABLE api_tokens ALTER COLUMN token_hash TYPE bytea USING decode(token_hash, 'hex');
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_sha256 CHECK (octet_length(token_hash) = 32);

CREATE INDEX api_tokens_organisation ON api_tokens (organisation_id, created_at);

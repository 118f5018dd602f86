-- Accounts for borough engineers (register/accounts/): passwords hashed with argon2id, one-time
-- links that set a password, sessions kept server-side, and failed logins for rate limiting.

-- A password is set through a one-time link, so an account starts without one.
ALTER TABLE users DROP CONSTRAINT users_password_hash_format;
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_password_hash_argon2id
    CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%');

-- A link that sets (or resets) an account's password: usable once, until it expires. Only a
-- SHA-256 of the link's secret is stored: the secret is long and random, so a fast hash is
-- enough, and the database never holds a usable link.
CREATE TABLE password_links (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     integer NOT NULL REFERENCES users (id),
    token_hash  bytea NOT NULL UNIQUE CONSTRAINT password_links_sha256 CHECK (octet_length(token_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX password_links_user ON password_links (user_id);

-- A signed-in browser. The cookie holds a random secret; the database holds its SHA-256, the
-- form token that protects the session's forms, and when it was last used (for the idle
-- timeout). A session ends at logout, when its account is disabled, or when it goes idle.
CREATE TABLE user_sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      integer NOT NULL REFERENCES users (id),
    token_hash   bytea NOT NULL UNIQUE CONSTRAINT user_sessions_sha256 CHECK (octet_length(token_hash) = 32),
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz
);
CREATE INDEX user_sessions_user ON user_sessions (user_id) WHERE ended_at IS NULL;

-- Failed logins, by the address the login named and by the client's address: every web worker
-- and process counts the same failures, so a limit holds however many serve the site.
CREATE TABLE login_failures (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    email   text NOT NULL,
    address text NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (lower(email), at);
CREATE INDEX login_failures_address ON login_failures (address, at);

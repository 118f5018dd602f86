"""What a production broker decides from Lamplighter's views (migration 0016), done here the way
each broker's PostgreSQL backend documents it, to compare with the embedded Mosquitto's files.

- EMQX 5 (docs.emqx.com, "Integrate with PostgreSQL" for authentication and for
  authorisation): one query for the login's row; PBKDF2 of the password with the row's `salt`
  (its text's bytes) under the configured `mac_fun`, iterations and `dk_length`, compared in
  lower-case hex with `password_hash`; no row: the client is refused. For each PUBLISH or
  SUBSCRIBE, a query for the login's rules, tried in the order returned, first match wins;
  no match falls to `no_match`, set to `deny`.
- mosquitto-go-auth (its README, backends/postgres.go, hashing/pbkdf2.go): `userquery` gives
  one `PBKDF2$sha512$<iterations>$<base64 salt>$<base64 digest>` string; `aclquery` gives the
  topic filters for the login and Mosquitto's access value (1 read, 2 write, 4 subscribe); any
  filter that matches allows.

The queries are the README's, word for word (a test checks), run as the broker's own role.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from psycopg import sql

from register.queries import Conn

BROKER_ROLE = "lamplighter_broker"

# EMQX: `${username}` becomes a parameter of a prepared statement.
EMQX_AUTHENTICATION_QUERY = (
    "SELECT password_hash, salt, is_superuser FROM emqx_authentication"
    " WHERE username = ${username} LIMIT 1"
)
EMQX_AUTHORIZATION_QUERY = (
    "SELECT permission, action, topic FROM emqx_authorization"
    " WHERE username = ${username} ORDER BY position"
)
# password_hash_algorithm {name = pbkdf2, mac_fun = sha512, iterations = 101, dk_length = 64}
EMQX_MAC_FUN, EMQX_ITERATIONS, EMQX_DK_LENGTH = "sha512", 101, 64
# mosquitto-go-auth: `$1` is the username, `$2` the access value.
GO_AUTH_USER_QUERY = "SELECT password_hash FROM go_auth_users WHERE username = $1 LIMIT 1"
GO_AUTH_ACL_QUERY = "SELECT topic FROM go_auth_acl WHERE username = $1 AND (rw & $2) <> 0"
GO_AUTH_ACCESS = {"read": 1, "write": 2, "subscribe": 4}


def _as_broker(conn: Conn, template: str, params: dict[str, Any]) -> list[Any]:
    """Run a broker's query as the broker's role, which may read the views and nothing else."""
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(BROKER_ROLE)))
        return conn.execute(template, params).fetchall()


def mqtt_match(topic_filter: str, topic: str, *, dollar_rule: bool) -> bool:
    """Whether `topic` matches `topic_filter` (`+` one level, `#` the rest, itself included).
    With `dollar_rule` (MQTT 4.7.2, EMQX), a wildcard first level never matches a `$` topic;
    mosquitto-go-auth's topics.Match has no such rule."""
    if dollar_rule and topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    wanted, levels = topic_filter.split("/"), topic.split("/")
    for place, level in enumerate(wanted):
        if level == "#":
            return True
        if place >= len(levels) or level not in ("+", levels[place]):
            return False
    return len(wanted) == len(levels)


class Emqx:
    """EMQX 5's PostgreSQL authenticator and authoriser over the views."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def connects(self, username: str | None, password: str | None) -> bool:
        if username is None or password is None:  # EMQX refuses a password-less login here
            return False
        rows = _as_broker(
            self.conn, EMQX_AUTHENTICATION_QUERY.replace("${username}", "%(u)s"), {"u": username}
        )
        if not rows:
            return False
        password_hash, salt, _is_superuser = rows[0]
        derived = hashlib.pbkdf2_hmac(
            EMQX_MAC_FUN, password.encode(), salt.encode(), EMQX_ITERATIONS, EMQX_DK_LENGTH
        )
        return hmac.compare_digest(derived.hex(), password_hash.lower())

    def allows(self, username: str, action: str, topic: str) -> bool:
        """`action` is `publish` or `subscribe` (a read is checked when subscribing)."""
        rules = _as_broker(
            self.conn, EMQX_AUTHORIZATION_QUERY.replace("${username}", "%(u)s"), {"u": username}
        )
        for permission, rule_action, rule_topic in rules:
            if rule_action in (action, "all") and mqtt_match(rule_topic, topic, dollar_rule=True):
                return bool(permission == "allow")
        return False  # authorization.no_match = deny

    def reads(self, username: str, topic: str) -> bool:
        return self.allows(username, "subscribe", topic)


class GoAuth:
    """mosquitto-go-auth's postgres backend over the views (hasher pbkdf2, salt base64)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def connects(self, username: str | None, password: str | None) -> bool:
        if username is None or password is None:  # anonymous: allow_anonymous false
            return False
        template = GO_AUTH_USER_QUERY.replace("$1", "%(u)s")
        rows = _as_broker(self.conn, template, {"u": username})
        if len(rows) != 1:
            return False
        fields = [field for field in rows[0][0].split("$") if field]  # strings.FieldsFunc
        if len(fields) != 5 or fields[0] != "PBKDF2":
            return False
        _, algorithm, iterations, salt, digest = fields
        stored = base64.b64decode(digest)
        derived = hashlib.pbkdf2_hmac(
            algorithm, password.encode(), base64.b64decode(salt), int(iterations), len(stored)
        )
        return hmac.compare_digest(derived, stored)

    def allows(self, username: str, access: str, topic: str) -> bool:
        """`access` is `read`, `write` or `subscribe`, as Mosquitto asks the plugin."""
        template = GO_AUTH_ACL_QUERY.replace("$1", "%(u)s").replace("$2", "%(acc)s")
        rows = _as_broker(self.conn, template, {"u": username, "acc": GO_AUTH_ACCESS[access]})
        for (stored,) in rows:
            acl_topic = stored.replace("%u", username)  # and %c: no view holds either
            if topic == acl_topic or mqtt_match(acl_topic, topic, dollar_rule=False):
                return True
        return False

    def reads(self, username: str, topic: str) -> bool:
        """Subscribing to the topic itself, then being sent a message on it."""
        return self.allows(username, "subscribe", topic) and self.allows(username, "read", topic)

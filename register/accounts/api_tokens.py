"""API tokens: how a script or a gateway writes to its organisation's devices through the API.

A token belongs to an organisation, with a name and an optional expiry, and records who made it.
Its secret (`llt_` and 43 random characters, a form secret scanners can be taught) is shown once;
the database keeps its SHA-256 and its first characters, which tell tokens apart but cannot be
used. A token ends when it is revoked or expires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from register.accounts import tokens
from register.audit import Actor
from register.queries import Conn
from register.queries import accounts as account_queries
from register.queries import api_tokens as queries

log = logging.getLogger(__name__)

SCHEME = "llt_"
PREFIX_LENGTH = len(SCHEME) + 8
NAME_LENGTH = 100
# At most one write of `last_used_at` a minute for each token, not one a request.
TOUCH_EVERY_SECONDS = 60.0
# Longer than any token made here; anything longer is not looked up at all.
LONGEST_SECRET = 200
# The furthest ahead a token may expire: 10 years, leap days included.
LONGEST_EXPIRY = timedelta(days=3653)


class TokenError(Exception):
    """A token cannot be made or ended as asked; the message says why."""


class UnknownToken(TokenError):
    """No token has that id."""


class Refused(Exception):
    """The secret opens nothing: `reason` is unknown, revoked or expired."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(REFUSALS[reason])


REFUSALS = {
    "unknown": "the token is not one the register issued",
    "revoked": "the token has been revoked",
    "expired": "the token has expired",
}


@dataclass(frozen=True)
class Token:
    """A token that authenticated: what it may do is its organisation's writes."""

    id: int
    name: str
    organisation: str
    organisation_name: str
    organisation_id: int

    def actor(self) -> Actor:
        """Who the token is in the audit log; it changes its own organisation's entries."""
        return Actor(
            label=f"API token '{self.name}' of {self.organisation}",
            organisation_id=self.organisation_id,
        )


def expiry_of(day: date) -> datetime:
    """A token that expires on `day` works until the end of it (UTC)."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


def check_name(name: str) -> str:
    """The name cleaned up; TokenError when it cannot be a token's name."""
    name = name.strip()
    if not name:
        raise TokenError("give the token a name, e.g. the gateway or script that will use it")
    if len(name) > NAME_LENGTH:
        raise TokenError(f"the name is too long ({NAME_LENGTH} characters at most)")
    if not name.isprintable():
        raise TokenError("the name must be plain text on one line")
    return name


def check_expiry(expires_on: date | None, today: date | None = None) -> date | None:
    """The expiry date if a token may have it; TokenError when it is past or too far ahead.

    An expiry is there to make a secret be replaced; past LONGEST_EXPIRY a date says no more
    than "until it is revoked" (no expiry), and 9999-12-31 would overflow its end of day.
    """
    if expires_on is None:
        return None
    today = today or datetime.now(UTC).date()
    if expires_on < today:
        raise TokenError("the expiry date is in the past; give today or a later date")
    if expires_on > today + LONGEST_EXPIRY:
        raise TokenError(
            "the expiry date is more than 10 years ahead; give an earlier date, or none for a "
            "token that works until it is revoked"
        )
    return expires_on


def create(
    conn: Conn,
    *,
    organisation: str,
    name: str,
    made_by: Actor,
    expires_on: date | None = None,
) -> tuple[int, str]:
    """Make a token for the organisation (by slug); its id and its secret, shown only now."""
    name = check_name(name)
    check_expiry(expires_on)
    organisation_id = account_queries.get_organisation_id(conn, organisation)
    if organisation_id is None:
        raise TokenError(f"there is no organisation {organisation!r}")
    made_by.check_may_write(organisation_id, organisation)
    secret = SCHEME + tokens.new_secret()
    token_id = queries.insert_api_token(
        conn,
        organisation_id=organisation_id,
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        token_hash=tokens.digest(secret),
        expires_at=None if expires_on is None else expiry_of(expires_on),
        created_by=made_by.user_id,
        created_by_label=made_by.label,
    )
    log.info("API token %d (%s) made for %s by %s", token_id, name, organisation, made_by.label)
    return token_id, secret


def authenticate(conn: Conn, secret: str) -> Token:
    """The token this secret is; raises Refused. Its use is recorded (at most once a minute).

    The secret is looked up by its SHA-256, so how long the answer takes does not depend on how
    much of a guess was right, whichever the refusal.
    """
    found = queries.find_api_token(conn, tokens.digest(secret[:LONGEST_SECRET]))
    if found is None or len(secret) > LONGEST_SECRET:
        raise Refused("unknown")
    if found["revoked_at"] is not None:
        raise Refused("revoked")
    if found["expires_at"] is not None and found["expires_at"] <= datetime.now(UTC):
        raise Refused("expired")
    queries.touch_api_token(conn, found["id"], TOUCH_EVERY_SECONDS)
    return Token(
        found["id"],
        found["name"],
        found["organisation"],
        found["organisation_name"],
        found["organisation_id"],
    )


def list_tokens(conn: Conn, organisation: str | None = None) -> list[dict[str, Any]]:
    """Tokens (never their secrets), newest first, of one organisation or of all."""
    return queries.list_api_tokens(conn, organisation)


def get(conn: Conn, token_id: int, actor: Actor) -> dict[str, Any]:
    """One token the actor may manage; UnknownToken, or NotAllowed for another organisation's."""
    found = queries.get_api_token(conn, token_id)
    if found is None:
        raise UnknownToken(f"there is no API token {token_id}")
    actor.check_may_write(found["organisation_id"], found["organisation_name"])
    return found


def revoke(conn: Conn, token_id: int, actor: Actor) -> dict[str, Any]:
    """End a token at once; the token as it was. Revoking an ended token changes nothing."""
    found = get(conn, token_id, actor)
    if queries.revoke_api_token(conn, token_id):
        log.info("API token %d (%s) revoked by %s", token_id, found["name"], actor.label)
    return found

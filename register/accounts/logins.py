"""Signing in: the password checked, failed attempts counted, and too many refused.

Failed logins are rows in the database, so the limits hold across every web worker and process:
after LIMIT_PER_ACCOUNT failures for one account, or `web.login_limit_per_address` from one
address, within WINDOW, every login to that account (or from that address) is refused until the
failures age out, even with the right password. A refusal names neither which was wrong (the
account or the password) nor whether the account exists, and takes as long either way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from register.accounts import passwords
from register.accounts.users import User, user_from_row
from register.queries import Conn
from register.queries import accounts as queries

LIMIT_PER_ACCOUNT = 5
WINDOW = timedelta(minutes=15)


class Refused(Exception):
    """The login is refused; the message is safe to show."""


WRONG = "That email address and password do not match an account."
THROTTLED = (
    "Too many failed attempts to sign in: sign-ins are refused for up to 15 minutes. "
    "Try again later, or ask an administrator for a new password link."
)


def authenticate(
    conn: Conn, email: str, password: str, address: str, *, limit_per_address: int
) -> User:
    """The account the email and password open; raises Refused. Call inside a transaction,
    which a refusal must not roll back: the failure it records is what the limits count.

    `limit_per_address` is the most failures from one address (0: no such limit).
    """
    email = email.strip()[:320]
    # Attempts for one account, or from one address, take turns: parallel requests cannot all
    # see the count below the limit before any of them adds its failure.
    queries.lock_login(conn, email, address)
    since = datetime.now(UTC) - WINDOW
    for_account, from_address = queries.count_login_failures(conn, email, address, since)
    if for_account >= LIMIT_PER_ACCOUNT or (
        limit_per_address and from_address >= limit_per_address
    ):
        raise Refused(THROTTLED)
    row = queries.get_user_by_email(conn, email)
    usable = row["password_hash"] if row is not None and row["disabled_at"] is None else None
    # The password is checked even for an unknown account (against nothing, with the same
    # work), so the time the answer takes does not tell whether the account exists.
    matches = passwords.verify(usable, password)
    if row is None or not matches:
        queries.insert_login_failure(conn, email, address)
        raise Refused(WRONG)
    if passwords.needs_rehash(row["password_hash"]):
        queries.set_password_hash(conn, row["id"], passwords.hash_password(password))
    return user_from_row(row)

"""API tokens: stored only as a hash, of one organisation, refused once revoked or expired; the
`lamplighter tokens` commands; and the migration that gave tokens an organisation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from register.accounts import api_tokens, users
from register.audit import Actor, NotAllowed
from register.platform import db
from register.platform.config import Settings
from register.queries import Conn
from tests.conftest import run_cli


def engineer_of(conn: Conn, organisation: str) -> Actor:
    with conn.transaction():
        user_id, _ = users.add_user(
            conn, organisation=organisation, email=f"ada@{organisation}.gov.uk", role="engineer"
        )
        row = users.list_users(conn, organisation)[0]
    assert row["id"] == user_id
    return users.user_from_row(row).actor()


def test_a_token_is_shown_once_and_only_its_hash_and_prefix_are_stored(camden: Conn) -> None:
    ada = engineer_of(camden, "camden")
    with camden.transaction():
        token_id, secret = api_tokens.create(
            camden, organisation="camden", name="gateway-sync", made_by=ada
        )
    assert secret.startswith("llt_") and len(secret) >= 40
    columns = camden.execute("SELECT * FROM api_tokens").fetchall()
    assert len(columns) == 1
    for value in columns[0]:
        readable = value.hex() if isinstance(value, bytes) else str(value)
        assert secret[12:20] not in readable
        assert not isinstance(value, bytes) or secret[12:20].encode() not in value
    row = api_tokens.list_tokens(camden, "camden")[0]
    assert row["id"] == token_id and row["prefix"] == secret[:12]
    assert row["created_by_label"] == ada.label and row["organisation"] == "camden"
    found = api_tokens.authenticate(camden, secret)
    assert (found.name, found.organisation) == ("gateway-sync", "camden")
    assert found.actor().label == "API token 'gateway-sync' of camden"
    assert found.actor().organisation_id == row["organisation_id"]


def test_unknown_revoked_and_expired_tokens_are_refused(camden: Conn) -> None:
    actor = Actor.command_line()
    with camden.transaction():
        revoked_id, revoked = api_tokens.create(
            camden, organisation="camden", name="a", made_by=actor
        )
        _, expiring = api_tokens.create(
            camden,
            organisation="camden",
            name="b",
            made_by=actor,
            expires_on=datetime.now(UTC).date(),
        )
        api_tokens.revoke(camden, revoked_id, actor)
    # It works until the end of its last day, then no more.
    assert api_tokens.authenticate(camden, expiring).name == "b"
    camden.execute("UPDATE api_tokens SET expires_at = now() WHERE name = 'b'")
    for secret, reason in (
        (revoked, "revoked"),
        (expiring, "expired"),
        ("llt_" + "x" * 43, "unknown"),
        (revoked[:-1], "unknown"),
        (revoked + "x" * 300, "unknown"),
        ("", "unknown"),
    ):
        with pytest.raises(api_tokens.Refused) as refused:
            api_tokens.authenticate(camden, secret)
        assert refused.value.reason == reason


def test_a_token_can_be_revoked_only_by_its_own_organisation(camden: Conn) -> None:
    ada = engineer_of(camden, "camden")
    hackney = engineer_of(camden, "hackney")
    with camden.transaction():
        token_id, secret = api_tokens.create(camden, organisation="camden", name="a", made_by=ada)
    before = camden.execute("SELECT * FROM api_tokens").fetchall()
    with pytest.raises(NotAllowed):
        api_tokens.revoke(camden, token_id, hackney)
    with pytest.raises(NotAllowed):
        api_tokens.create(camden, organisation="camden", name="theirs", made_by=hackney)
    assert camden.execute("SELECT * FROM api_tokens").fetchall() == before
    with pytest.raises(api_tokens.UnknownToken):
        api_tokens.revoke(camden, token_id + 1, ada)
    assert api_tokens.revoke(camden, token_id, ada)["name"] == "a"
    assert api_tokens.list_tokens(camden, "camden")[0]["revoked_at"] is not None
    with pytest.raises(api_tokens.Refused):
        api_tokens.authenticate(camden, secret)


@pytest.mark.parametrize(
    ("name", "expires_on", "says"),
    [
        ("  ", None, "give the token a name"),
        ("x" * 101, None, "too long"),
        ("two\nlines", None, "plain text on one line"),
        ("ok", timedelta(days=-1), "in the past"),
        ("ok", timedelta(days=3654), "more than 10 years ahead"),
        # Its end of day is past what a datetime holds: refused, never an OverflowError.
        ("ok", date.max, "more than 10 years ahead"),
    ],
)
def test_a_token_needs_a_name_and_an_expiry_not_in_the_past(
    camden: Conn, name: str, expires_on: date | timedelta | None, says: str
) -> None:
    # A period from today is counted from the day the test runs, not the day it was collected:
    # a run that crosses midnight (UTC) would otherwise test the day before's boundary.
    if isinstance(expires_on, timedelta):
        expires_on = datetime.now(UTC).date() + expires_on
    with pytest.raises(api_tokens.TokenError, match=says):
        api_tokens.create(
            camden,
            organisation="camden",
            name=name,
            made_by=Actor.command_line(),
            expires_on=expires_on,
        )
    assert camden.execute("SELECT count(*) FROM api_tokens").fetchone() == (0,)


def test_a_token_may_expire_up_to_ten_years_ahead_and_no_later() -> None:
    today = date(2028, 2, 29)
    assert api_tokens.check_expiry(date(2038, 2, 28), today) == date(2038, 2, 28)
    assert api_tokens.check_expiry(date(2038, 3, 1), today) == date(2038, 3, 1)
    with pytest.raises(api_tokens.TokenError, match="more than 10 years ahead"):
        api_tokens.check_expiry(date(2038, 3, 2), today)


def test_tokens_commands_print_the_token_alone_list_it_without_it_and_revoke_it(
    camden: Conn, migrated_settings: Settings
) -> None:
    env = {"LAMPLIGHTER_DATABASE_URL": migrated_settings.database_url}
    last_day = datetime.now(UTC).date() + timedelta(days=365)
    created = run_cli(
        "tokens", "create", "--org", "camden", "--name", "gateway-sync", "--expires",
        last_day.isoformat(), env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert created.stdout == secret + "\n" and secret.startswith("llt_")
    assert "shown only now" in created.stderr and secret not in created.stderr
    assert api_tokens.authenticate(camden, secret).organisation == "camden"
    camden.commit()  # its last use recorded, and the row's lock let go
    listed = run_cli("tokens", "list", "--org", "camden", env=env)
    assert "gateway-sync" in listed.stdout and secret[:12] in listed.stdout
    assert secret not in listed.stdout
    assert f"expires {last_day + timedelta(days=1)} 00:00Z" in listed.stdout
    assert run_cli("tokens", "list", "--org", "hackney", env=env).stdout == ""
    (token_id,) = camden.execute("SELECT id FROM api_tokens").fetchone() or (0,)
    revoked = run_cli("tokens", "revoke", str(token_id), env=env)
    assert revoked.returncode == 0 and "revoked API token" in revoked.stdout
    assert "revoked" in run_cli("tokens", "list", env=env).stdout
    with pytest.raises(api_tokens.Refused):
        api_tokens.authenticate(camden, secret)
    unknown_org = run_cli("tokens", "create", "--org", "narnia", "--name", "x", env=env)
    assert unknown_org.returncode == 1 and "no organisation 'narnia'" in unknown_org.stderr
    bad_date = run_cli("tokens", "create", "--org", "camden", "--name", "x", "--expires",
                       "31/12/2099", env=env)  # fmt: skip
    assert bad_date.returncode == 2 and "use YYYY-MM-DD" in bad_date.stderr
    far = run_cli("tokens", "create", "--org", "camden", "--name", "x", "--expires",
                  "9999-12-31", env=env)  # fmt: skip
    assert far.returncode == 2 and "more than 10 years ahead" in far.stderr
    assert "Traceback" not in far.stderr and far.stdout == ""
    unknown_id = run_cli("tokens", "revoke", str(token_id + 100), env=env)
    assert unknown_id.returncode == 1 and "there is no API token" in unknown_id.stderr


def test_the_migration_gives_earlier_tokens_their_makers_organisation(
    fresh_settings: Settings,
) -> None:
    """A token made before migration 0013 (of a user) keeps working after it."""
    digest = "ab" * 32
    with db.connect(fresh_settings) as conn:
        for migration in db.available_migrations():
            if migration.version == 13:
                conn.execute(
                    """INSERT INTO organisations (slug, name, kind, contact_email)
                       VALUES ('camden', 'Camden', 'borough', 'a@camden.gov.uk')"""
                )
                conn.execute(
                    """INSERT INTO users (organisation_id, email, display_name, role)
                       SELECT id, 'ada@camden.gov.uk', 'Ada', 'engineer' FROM organisations"""
                )
                conn.execute(
                    """INSERT INTO api_tokens (user_id, name, prefix, token_hash)
                       SELECT id, 'old', 'llt_abcdefgh', %s FROM users""",
                    (digest,),
                )
            conn.execute(migration.sql.encode())
        row = conn.execute(
            """SELECT o.slug, t.created_by_label, encode(t.token_hash, 'hex'), t.created_by
                 FROM api_tokens t JOIN organisations o ON o.id = t.organisation_id"""
        ).fetchone()
    assert row is not None and row[:3] == ("camden", "ada@camden.gov.uk", digest)
    assert row[3] is not None

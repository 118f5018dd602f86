"""Accounts: one-time password links, argon2id hashes, sign-in with its limits, sessions."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from register import organisations
from register.accounts import logins, passwords, sessions, users
from register.audit import Actor, NotAllowed
from register.jobs.history import prune_history
from register.platform.config import Settings
from register.queries import Conn
from register.validation import FieldError, InvalidEntry
from tests.conftest import run_cli
from tests.register.at_once import second_waits_for_first
from tests.register.factories import ADMIN, organisation_entry

PASSWORD = "correct horse battery staple"


def sign_in(
    conn: Conn, email: str, password: str, address: str, per_address: int = 20
) -> users.User:
    return logins.authenticate(conn, email, password, address, limit_per_address=per_address)


def add_engineer(conn: Conn, email: str = "ada@camden.gov.uk") -> str:
    """An engineer of Camden with PASSWORD set through their link; the link's secret."""
    with conn.transaction():
        _, secret = users.add_user(
            conn, organisation="camden", email=email, role="engineer", display_name="Ada"
        )
        users.set_password_with_link(conn, secret, PASSWORD)
    return secret


def test_an_account_starts_without_a_password_and_its_link_is_stored_only_as_a_hash(
    camden: Conn,
) -> None:
    with camden.transaction():
        user_id, secret = users.add_user(
            camden, organisation="camden", email="ada@camden.gov.uk", role="engineer"
        )
        row = camden.execute("SELECT password_hash FROM users WHERE id = %s", (user_id,)).fetchone()
        stored = camden.execute("SELECT * FROM password_links").fetchall()
    assert row == (None,)
    assert len(secret) >= 40
    assert secret not in repr(stored) and secret.encode() not in repr(stored).encode()


def test_the_link_sets_an_argon2id_hash_once_and_never_the_password_itself(
    camden: Conn,
) -> None:
    secret = add_engineer(camden)
    with camden.transaction():
        rows = camden.execute("SELECT * FROM users").fetchall()
        with pytest.raises(users.AccountError, match="expired or has already been used"):
            users.set_password_with_link(camden, secret, "another long password")
    (row,) = rows
    assert PASSWORD not in repr(row)
    assert any(str(value).startswith("$argon2id$") for value in row)


def test_a_weak_password_is_refused_and_the_link_still_works(camden: Conn) -> None:
    with camden.transaction():
        _, secret = users.add_user(
            camden, organisation="camden", email="ada@camden.gov.uk", role="engineer"
        )
        with pytest.raises(users.AccountError, match="at least 12 characters"):
            users.set_password_with_link(camden, secret, "short")
        account = users.account_of_link(camden, secret)
        assert account is not None and account.email == "ada@camden.gov.uk"


def test_sign_in_gives_one_answer_for_a_wrong_password_an_unknown_account_or_a_disabled_one(
    camden: Conn,
) -> None:
    add_engineer(camden)
    add_engineer(camden, "gone@camden.gov.uk")
    with camden.transaction():
        users.disable_user(camden, "gone@camden.gov.uk")
    answers = []
    for email, password in [
        ("ada@camden.gov.uk", "wrong password here"),
        ("nobody@camden.gov.uk", PASSWORD),
        ("gone@camden.gov.uk", PASSWORD),
    ]:
        with camden.transaction(), pytest.raises(logins.Refused) as refused:
            sign_in(camden, email, password, "192.0.2.1")
        answers.append(str(refused.value))
    assert answers == [logins.WRONG] * 3
    with camden.transaction():
        user = sign_in(camden, "ADA@camden.gov.uk", PASSWORD, "192.0.2.1")
    assert (user.email, user.organisation, user.role) == ("ada@camden.gov.uk", "camden", "engineer")


def test_the_sixth_attempt_after_five_wrong_passwords_is_refused_even_when_it_is_right(
    camden: Conn,
) -> None:
    add_engineer(camden)
    for _ in range(logins.LIMIT_PER_ACCOUNT):
        with camden.transaction(), pytest.raises(logins.Refused, match="do not match"):
            sign_in(camden, "ada@camden.gov.uk", "not the password", "192.0.2.1")
    with camden.transaction(), pytest.raises(logins.Refused, match="Too many failed attempts"):
        sign_in(camden, "ada@camden.gov.uk", PASSWORD, "198.51.100.7")


def test_a_session_ends_at_logout_when_idle_and_when_its_account_is_disabled(
    camden: Conn, migrated_settings: Settings
) -> None:
    add_engineer(camden)
    with camden.transaction():
        user = sign_in(camden, "ada@camden.gov.uk", PASSWORD, "192.0.2.1")
        first, second, third = (sessions.start(camden, user) for _ in range(3))
    assert len({first, second, third}) == 3  # a fresh secret at every login
    with camden.transaction():
        found = sessions.find(camden, first, idle_seconds=60)
        assert found is not None and found.user.email == "ada@camden.gov.uk"
        sessions.end(camden, first)
        assert sessions.find(camden, first, idle_seconds=60) is None
        camden.execute("UPDATE user_sessions SET last_seen_at = now() - interval '2 minutes'")
        assert sessions.find(camden, second, idle_seconds=60) is None
        assert sessions.find(camden, third, idle_seconds=600) is not None
        assert users.disable_user(camden, "ada@camden.gov.uk") == 2
        assert sessions.find(camden, third, idle_seconds=600) is None


def test_users_commands_print_a_link_never_take_a_password_and_disable_and_reset(
    camden: Conn, migrated_settings: Settings
) -> None:
    env = {"LAMPLIGHTER_DATABASE_URL": migrated_settings.database_url}
    added = run_cli(
        "users", "add", "--org", "camden", "--email", "ada@camden.gov.uk", "--role", "admin",
        env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "/console/password/" in added.stdout
    listed = run_cli("users", "list", env=env)
    assert "ada@camden.gov.uk" in listed.stdout and "waiting for its password" in listed.stdout
    again = run_cli(
        "users", "add", "--org", "camden", "--email", "ada@camden.gov.uk", "--role", "admin",
        env=env,
    )  # fmt: skip
    assert again.returncode == 1 and "already exists" in again.stderr
    unknown = run_cli(
        "users", "add", "--org", "narnia", "--email", "x@y.org", "--role", "engineer", env=env
    )
    assert unknown.returncode == 1 and "there is no organisation 'narnia'" in unknown.stderr
    reset = run_cli("users", "reset", "ada@camden.gov.uk", env=env)
    assert reset.returncode == 0 and "/console/password/" in reset.stdout
    disabled = run_cli("users", "disable", "ada@camden.gov.uk", env=env)
    assert disabled.returncode == 0 and "disabled ada@camden.gov.uk" in disabled.stdout
    assert "disabled" in run_cli("users", "list", "--org", "camden", env=env).stdout
    # Each change left its audit event, by the command line, and none holds a link's secret.
    secrets = [line.rsplit("/", 1)[1] for line in (added.stdout, reset.stdout)]
    with camden.transaction():
        events = camden.execute(
            "SELECT action, actor, actor_user_id, changes, note FROM audit_events"
            " WHERE entity = 'user' ORDER BY id"
        ).fetchall()
    assert [e[0] for e in events] == ["create", "reset_password", "disable"]
    assert all(e[1].startswith("command line (") and e[2] is None for e in events)
    assert not any(secret.strip() in repr(events) for secret in secrets)


def test_an_actor_changes_only_accounts_it_may_and_never_disables_itself(camden: Conn) -> None:
    add_engineer(camden)
    with camden.transaction():
        hackney_id = camden.execute(
            "SELECT id FROM organisations WHERE slug = 'hackney'"
        ).fetchone()
        (ada_id,) = camden.execute("SELECT id FROM users").fetchone() or (0,)
        ada = users.get_account(camden, ada_id)
    assert hackney_id and ada and ada["email"] == "ada@camden.gov.uk"
    of_hackney = Actor("someone of Hackney", user_id=None, organisation_id=hackney_id[0])
    with pytest.raises(NotAllowed), camden.transaction():
        users.reset_user(camden, "ada@camden.gov.uk", actor=of_hackney)
    with pytest.raises(NotAllowed), camden.transaction():
        users.add_user(
            camden, organisation="camden", email="x@camden.gov.uk", role="admin", actor=of_hackney
        )
    herself = Actor("Ada", user_id=ada["id"])
    with pytest.raises(users.AccountError, match="your own account"), camden.transaction():
        users.disable_user(camden, "ada@camden.gov.uk", actor=herself)
    with camden.transaction():
        assert camden.execute("SELECT count(*), count(disabled_at) FROM users").fetchone() == (1, 0)
        assert camden.execute("SELECT count(*) FROM password_links").fetchone() == (1,)
        assert camden.execute(
            "SELECT count(*) FROM audit_events WHERE entity = 'user'"
        ).fetchone() == (1,)


def test_prune_history_deletes_sign_in_records_that_no_longer_count(
    camden: Conn, migrated_settings: Settings
) -> None:
    add_engineer(camden)  # its link is used now: recent, so kept
    with camden.transaction():
        user = sign_in(camden, "ada@camden.gov.uk", PASSWORD, "192.0.2.1")
        old, recent = sessions.start(camden, user), sessions.start(camden, user)
        sessions.end(camden, old)
        camden.execute(
            "UPDATE user_sessions SET ended_at = now() - interval '30 days'"
            " WHERE ended_at IS NOT NULL"
        )
        camden.execute(
            "INSERT INTO login_failures (at, email, address) VALUES"
            " (now() - interval '30 days', 'ada@camden.gov.uk', '192.0.2.1'),"
            " (now(), 'ada@camden.gov.uk', '192.0.2.1')"
        )
    outcome = prune_history(camden, migrated_settings)
    assert outcome.rows == 2  # the old failure and the old session
    with camden.transaction():
        assert camden.execute("SELECT count(*) FROM login_failures").fetchone() == (1,)
        assert camden.execute("SELECT count(*) FROM password_links").fetchone() == (1,)
        assert sessions.find(camden, recent, idle_seconds=600) is not None
        assert camden.execute("SELECT count(*) FROM user_sessions").fetchone() == (1,)


def test_variants_of_an_address_count_as_one_account_and_one_address_has_its_own_limit(
    camden: Conn,
) -> None:
    add_engineer(camden)
    for variant in ["ADA@camden.gov.uk", " ada@camden.gov.uk ", "Ada@Camden.Gov.UK"] * 2:
        with camden.transaction(), pytest.raises(logins.Refused) as refused:
            sign_in(camden, variant, "not the password", "192.0.2.1")
    assert str(refused.value) == logins.THROTTLED  # the 6th, after 5 failures
    for attempt in range(3):  # three unknown accounts from one address
        with camden.transaction(), pytest.raises(logins.Refused, match="do not match"):
            sign_in(camden, f"guess{attempt}@camden.gov.uk", "x" * 12, "203.0.113.9", 3)
    with camden.transaction(), pytest.raises(logins.Refused, match="Too many failed attempts"):
        sign_in(camden, "someone@camden.gov.uk", "x" * 12, "203.0.113.9", 3)
    with camden.transaction(), pytest.raises(logins.Refused, match="do not match"):
        sign_in(camden, "someone@camden.gov.uk", "x" * 12, "203.0.113.9", 0)  # limit off


def test_a_hash_made_with_older_parameters_is_replaced_at_the_next_sign_in(
    conn: Conn, camden: Conn
) -> None:
    """argon2-cffi's parameters grow over the years: a password hashed with weaker ones is
    hashed again, with today's, the next time it is given right."""
    add_engineer(conn)
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    conn.execute(
        "UPDATE users SET password_hash = %s WHERE email = 'ada@camden.gov.uk'",
        (weaker.hash(PASSWORD),),
    )
    with pytest.raises(logins.Refused):
        sign_in(conn, "ada@camden.gov.uk", "not the password", "192.0.2.1")
    row = conn.execute("SELECT password_hash FROM users").fetchone()
    assert row is not None and ",t=1," in row[0]  # a wrong password changes nothing
    sign_in(conn, "ada@camden.gov.uk", PASSWORD, "192.0.2.1")
    row = conn.execute("SELECT password_hash FROM users").fetchone()
    assert row is not None and row[0].startswith("$argon2id$")
    assert not passwords.needs_rehash(row[0]) and ",t=1," not in row[0]
    assert sign_in(conn, "ada@camden.gov.uk", PASSWORD, "192.0.2.1").email == "ada@camden.gov.uk"


def test_of_two_accounts_added_at_once_for_one_address_the_second_is_refused_by_its_field(
    migrated_settings: Settings, camden: Conn
) -> None:
    camden.commit()
    users.add_user(camden, organisation="camden", email="ada@camden.gov.uk", role="engineer")
    refused = second_waits_for_first(
        migrated_settings,
        camden,
        lambda second: users.add_user(
            second, organisation="camden", email="ADA@camden.gov.uk", role="admin"
        ),
    )
    assert [(type(e), str(e), getattr(e, "field", None)) for e in refused] == [
        (users.AccountError, "an account for ADA@camden.gov.uk already exists", "email")
    ]
    assert camden.execute("SELECT email, role FROM users").fetchall() == [
        ("ada@camden.gov.uk", "engineer")
    ]


def test_of_two_organisations_added_at_once_with_one_slug_the_second_is_refused_by_its_field(
    migrated_settings: Settings, conn: Conn
) -> None:
    conn.commit()
    organisations.create_organisation(conn, organisation_entry("islington"), ADMIN)
    refused = second_waits_for_first(
        migrated_settings,
        conn,
        lambda second: organisations.create_organisation(
            second, organisation_entry("islington", name="Someone else"), ADMIN
        ),
    )
    assert [(type(e), getattr(e, "errors", None)) for e in refused] == [
        (InvalidEntry, [FieldError("slug", "organisation islington already exists")])
    ]
    names = conn.execute("SELECT name FROM organisations WHERE slug = 'islington'").fetchall()
    assert names == [("London Borough of Islington",)]

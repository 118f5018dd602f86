"""Who may use the embedded Mosquitto: its files, kept from the register, and the accounts of
Lamplighter's own clients on it.

The ingester (`lamplighter.ingest`: it reads the sources' topics) and the simulator
(`lamplighter.simulate`: it writes them) each get a broker account with a random password. The
password is kept, for the client only, in `var/broker-clients/<username>` (mode 0600 in a 0700
directory the broker's user cannot enter), as PostgreSQL's is kept in `var/postgres/pgpass`;
the register and the broker's files keep only its hash. `register.platform.broker` gives a
client of the embedded broker its account's password from there.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path

import psycopg

from register.credentials import broker_accounts, broker_files
from register.credentials.broker_files import BrokerFiles, Layout
from register.platform import db
from register.platform.config import Settings
from register.queries import Conn
from register.queries import broker_accounts as queries

log = logging.getLogger(__name__)

INGEST = "lamplighter.ingest"
SIMULATE = "lamplighter.simulate"
MADE_BY = "lamplighter (embedded broker)"


def layout(settings: Settings) -> Layout:
    """Where the embedded broker reads its password file, ACL and anonymous switch."""
    return Layout(settings.data_dir / "mosquitto" / "access")


def clients_dir(settings: Settings) -> Path:
    return settings.data_dir / "broker-clients"


def client_password(settings: Settings, username: str) -> str | None:
    """The embedded broker's password of one of Lamplighter's own clients, if it has one."""
    try:
        return (clients_dir(settings) / username).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def embedded_topics(settings: Settings) -> list[str]:
    """The topic filters of every source that reads the embedded broker."""
    if settings.mqtt.url:
        return []
    found = {topic for source in settings.mqtt.sources if not source.url for topic in source.topics}
    return sorted(found)


def _password_kept(settings: Settings, username: str) -> str:
    """The client's password, made (and kept for it) when it has none yet."""
    known = client_password(settings, username)
    if known is not None:
        return known
    directory = clients_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    password = secrets.token_urlsafe(broker_accounts.PASSWORD_BYTES)
    path = directory / username
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(password + "\n", encoding="utf-8")
    return password


def keep_clients(conn: Conn, settings: Settings) -> None:
    """Make sure the ingester's and the simulator's accounts work, with the passwords they
    hold and the topics the sources name."""
    topics = embedded_topics(settings)
    if not topics:
        return
    with conn.transaction():
        broker_accounts.keep(
            conn,
            INGEST,
            _password_kept(settings, INGEST),
            reads=topics,
            purpose="Lamplighter's ingester on the embedded broker",
            by=MADE_BY,
        )
        broker_accounts.keep(
            conn,
            SIMULATE,
            _password_kept(settings, SIMULATE),
            writes=topics,
            purpose="Lamplighter's simulator on the embedded broker (make run's demo devices)",
            by=MADE_BY,
        )


def _files_without_accounts(*, anonymous: bool) -> BrokerFiles:
    """No credential and no account: anonymous clients let in or not."""
    return BrokerFiles(
        broker_files.password_file(()),
        broker_files.acl_file((), anonymous=anonymous),
        broker_files.anonymous_conf(anonymous),
    )


def files_now(settings: Settings) -> BrokerFiles | None:
    """The files as the register holds them, with Lamplighter's clients' accounts made first;
    those of a new register while its database has no tables yet; None when the register
    cannot be read."""
    try:
        with db.connect(settings, autocommit=True) as conn:
            if not queries.register_has_accounts(conn):
                # A new register: no credential yet, so anonymous clients are let in.
                return _files_without_accounts(anonymous=True)
            keep_clients(conn, settings)
            return broker_files.files_from_register(conn)
    except (db.DatabaseError, psycopg.Error) as error:
        log.warning("cannot read the register for the embedded broker's access: %s", error)
        return None


def write(settings: Settings, group: int | None, reload: Callable[[], None] | None = None) -> bool:
    """Write the embedded broker's files now, and reload it when they changed and it runs.

    When the register cannot be read, files already there stay as they are, and a broker
    that has none gets files that let no one in; the writer puts them right once it can read
    the register. So the broker is never more open than the register last said.
    """
    target = layout(settings)
    files = files_now(settings)
    if files is None:
        if target.passwords.exists() and target.acl.exists() and target.anonymous.exists():
            return False
        files = _files_without_accounts(anonymous=False)
    changed = broker_files.replace_files(target, files, group=group)
    if changed and reload is not None:
        reload()
    return changed

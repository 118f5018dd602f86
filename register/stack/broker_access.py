"""Who may use the embedded Mosquitto: its files, kept from the register, and the accounts of
Lamplighter's own clients on it.

The ingester (`lamplighter.ingest`: it reads the sources' topics) gets a broker account with a
random password, and so does the simulator (`lamplighter.simulate`: it writes them) when the
settings run one. The clients keep their passwords themselves (`register.platform.
broker_clients`); the register and the broker's files hold only the hashes.

The files are in `var/broker-access/`, a directory of the user who runs Lamplighter that the
broker's user may only read: the broker could not put anything in the writer's way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import psycopg

from register.credentials import broker_accounts, broker_files
from register.credentials.broker_files import BrokerFiles, Layout
from register.platform import broker_clients, db
from register.platform.broker_clients import INGEST, SIMULATE
from register.platform.config import Settings
from register.queries import Conn
from register.queries import broker_accounts as queries

log = logging.getLogger(__name__)

MADE_BY = "lamplighter (embedded broker)"


def layout(settings: Settings) -> Layout:
    """Where the embedded broker reads its password file, ACL and anonymous switch."""
    return Layout(settings.data_dir / "broker-access")


def embedded_topics(settings: Settings) -> list[str]:
    """The topic filters of every source that reads the embedded broker."""
    if settings.mqtt.url:
        return []
    found = {topic for source in settings.mqtt.sources if not source.url for topic in source.topics}
    return sorted(found)


def keep_clients(conn: Conn, settings: Settings) -> None:
    """Make sure the ingester's account works, with the password it keeps and the topics the
    sources name, and the simulator's too when the settings run one (else it has none)."""
    topics = embedded_topics(settings)
    if not topics:
        return
    broker_clients.keep_client_id_part(settings, INGEST)

    def keep(username: str, purpose: str, **topic_filters: list[str]) -> None:
        password = broker_clients.keep_password(settings, username)
        broker_accounts.keep(conn, username, password, purpose=purpose, by=MADE_BY, **topic_filters)

    with conn.transaction():
        keep(INGEST, "Lamplighter's ingester on the embedded broker", reads=topics)
        if settings.ingest.simulate_devices > 0:
            keep(SIMULATE, "Lamplighter's simulator on the embedded broker", writes=topics)
        else:
            broker_accounts.revoke(conn, SIMULATE, MADE_BY, own=True)


def _files_without_accounts(*, anonymous: bool) -> BrokerFiles:
    """No credential and no account: anonymous clients let in or not."""
    return BrokerFiles(
        broker_files.password_file(()),
        broker_files.acl_file((), anonymous=anonymous),
        broker_files.anonymous_conf(anonymous),
    )


def write(settings: Settings, group: int | None, reload: Callable[[], bool] | None = None) -> bool:
    """Write the embedded broker's files now (with Lamplighter's clients' accounts made first),
    and reload it when they changed; True when they changed.

    A register without its tables yet (a new database) has no credential, so anonymous clients
    are let in. When the register cannot be read, files already there stay as they are, and a
    broker that has none gets files that let no one in; the writer puts them right once it can
    read the register. So the broker is never more open than the register last said.
    """
    target = layout(settings)
    try:
        with db.connect(settings, autocommit=True) as conn:
            if queries.register_has_accounts(conn):
                keep_clients(conn, settings)
                changed = broker_files.write_from_register(conn, target, group=group)
            else:
                new = _files_without_accounts(anonymous=True)
                changed = broker_files.replace_files(target, new, group=group)
    except (db.DatabaseError, psycopg.Error) as error:
        log.warning("cannot read the register for the embedded broker's access: %s", error)
        if target.passwords.exists() and target.acl.exists() and target.anonymous.exists():
            return False
        closed = _files_without_accounts(anonymous=False)
        changed = broker_files.replace_files(target, closed, group=group)
    if changed and reload is not None:
        reload()
    return changed

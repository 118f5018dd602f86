"""The embedded broker's access: Lamplighter's own clients get accounts once and keep them, the
files follow the sources' topics, and a register that cannot be read never opens the broker."""

from __future__ import annotations

import dataclasses
import re
import stat
from pathlib import Path

from ingest.service import Ingester
from ingest.settings import SourceSettings
from register.credentials import mosquitto_hash
from register.platform import broker_clients, db
from register.platform.broker import broker_for
from register.platform.config import Settings
from register.stack import broker_access
from register.stack.runtime import free_port


def embedded(settings: Settings, data_dir: Path) -> Settings:
    """The settings with a data directory of the test's own (the database stays the test's)."""
    services = dataclasses.replace(settings.services, data_dir=str(data_dir))
    return dataclasses.replace(settings, services=services)


def accounts(settings: Settings) -> list[tuple[str, list[str], list[str], bool]]:
    with db.connect(settings) as conn:
        rows = conn.execute(
            "SELECT username, reads, writes, revoked_at IS NULL FROM broker_accounts ORDER BY id"
        ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def test_lamplighters_clients_get_accounts_once_and_their_passwords_only_as_hashes(
    migrated_settings: Settings, tmp_path: Path
) -> None:
    settings = embedded(migrated_settings, tmp_path / "var")
    assert broker_access.write(settings, group=None)
    topics = sorted(t for s in settings.mqtt.sources for t in s.topics)
    assert accounts(settings) == [
        ("lamplighter.ingest", topics, [], True),
        ("lamplighter.simulate", [], topics, True),
    ]
    clients = tmp_path / "var" / "broker-clients"
    assert stat.S_IMODE(clients.stat().st_mode) == 0o700
    layout = broker_access.layout(settings)
    for username in (broker_clients.INGEST, broker_clients.SIMULATE):
        kept = clients / username
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        password = kept.read_text().strip()
        (line,) = [x for x in layout.passwords.read_text().splitlines() if x.startswith(username)]
        assert mosquitto_hash.verify(password, line.split(":", 1)[1])
        assert password not in layout.passwords.read_text() + layout.acl.read_text()
    assert broker_for(settings).username == broker_clients.INGEST
    # The ingester's client id has a random part that only it keeps, so no device can guess it
    # and take over its persistent session.
    part = (clients / f"{broker_clients.INGEST}.client-id").read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{16}", part)
    assert Ingester(settings).sources["native"].client_id == f"lamplighter-ingest-{part}-native"
    # Written again, nothing changes and no account is made again.
    assert not broker_access.write(settings, group=None)
    assert len(accounts(settings)) == 2
    # Sources on other topics: the accounts follow them, with the same passwords.
    native_only = dataclasses.replace(
        settings.mqtt, sources=[SourceSettings(name="native", format="native")]
    )
    assert broker_access.write(dataclasses.replace(settings, mqtt=native_only), group=None)
    working = [a for a in accounts(settings) if a[3]]
    assert working == [
        ("lamplighter.ingest", ["lamplighter/+/+/up"], [], True),
        ("lamplighter.simulate", [], ["lamplighter/+/+/up"], True),
    ]
    assert "user lamplighter.ingest\ntopic read lamplighter/+/+/up\n\n" in layout.acl.read_text()


def test_a_register_that_cannot_be_read_never_opens_the_broker(
    migrated_settings: Settings, tmp_path: Path
) -> None:
    settings = embedded(migrated_settings, tmp_path / "var")
    unreachable = dataclasses.replace(
        settings,
        database=dataclasses.replace(
            settings.database,
            url=f"postgresql://lamplighter@127.0.0.1:{free_port()}/lamplighter",
            connect_timeout=1,
        ),
    )
    layout = broker_access.layout(settings)
    # No files yet: ones that let no one in.
    assert broker_access.write(unreachable, group=None)
    assert layout.anonymous.read_text().endswith("allow_anonymous false\n")
    assert not [x for x in layout.passwords.read_text().splitlines() if not x.startswith("#")]
    # Files from the register, then the register out of reach: they are kept as they are.
    assert broker_access.write(settings, group=None)
    written = layout.passwords.read_text(), layout.acl.read_text(), layout.anonymous.read_text()
    assert "allow_anonymous true" in written[2]  # no device credential in this register yet
    assert not broker_access.write(unreachable, group=None)
    assert (layout.passwords.read_text(), layout.acl.read_text(), layout.anonymous.read_text()) == (
        written
    )

"""What Lamplighter's own clients of the embedded broker keep: their login and client id.

The ingester (`lamplighter.ingest`) and the simulator (`lamplighter.simulate`) each have a broker
account on the embedded broker (`register.stack.broker_access` makes it). The client keeps, in
`var/broker-clients/` (a 0700 directory the broker's user cannot enter, files 0600):
  <username>            its password, as PostgreSQL's is kept in `var/postgres/pgpass`; the
                        register and the broker's files hold only its hash;
  <username>.client-id  a random part of its MQTT client id. Any client that logs in may use
                        any client id, and MQTT gives a session to the last client that names
                        it, so a device that guessed the ingester's client id could take over
                        its persistent session and the messages queued for it.
Both are made once, by whichever process gets there first, and never change after.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from register.platform.config import Settings

INGEST = "lamplighter.ingest"
SIMULATE = "lamplighter.simulate"
PASSWORD_BYTES = 24


def clients_dir(settings: Settings) -> Path:
    return settings.data_dir / "broker-clients"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def password(settings: Settings, username: str) -> str | None:
    """The password one of Lamplighter's clients keeps for the embedded broker, if any."""
    return _read(clients_dir(settings) / username)


def client_id_part(settings: Settings, username: str) -> str:
    """The random part of that client's MQTT client id ('' when it keeps none)."""
    return _read(clients_dir(settings) / f"{username}.client-id") or ""


def _kept(path: Path, make: str) -> str:
    """The secret in `path`, or `make` written there (0600) when there is none yet: created
    exclusively, so two processes at once keep the same one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        known = _read(path)
        if known is None:
            raise RuntimeError(f"{path} is empty; remove it and start again") from None
        return known
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(make + "\n")
    return make


def keep_password(settings: Settings, username: str) -> str:
    """The client's password, made when it has none yet."""
    return _kept(clients_dir(settings) / username, secrets.token_urlsafe(PASSWORD_BYTES))


def keep_client_id_part(settings: Settings, username: str) -> str:
    """The random part of the client's MQTT client id, made when it has none yet."""
    return _kept(clients_dir(settings) / f"{username}.client-id", secrets.token_hex(8))

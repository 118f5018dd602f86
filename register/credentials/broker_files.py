"""Mosquitto's `password_file`, `acl_file` and anonymous switch, written from the register.

The files are made from the database every time, never edited in place, so they cannot drift
from the register: each write replaces a whole file atomically (a new file renamed over the
old), readable by the broker's user. The ACL grants each device write access only to its own
topics, by pattern (`%u` is the username, the device's public id), so one line serves every
device, however many there are; each other account gets its own filters.

Anonymous clients are let in, to read and write anything, only until the register issues its
first device credential: that keeps a register that has not started issuing them working as
before. The first credential closes the broker to them for good (`conf.d/anonymous.conf`, read
again on SIGHUP, and Mosquitto drops the anonymous clients still connected); revoking every
credential since does not open it again.

Layout of a broker's directory (the embedded one is `var/broker-access/`):
  passwd                  the password file
  acl                     the ACL
  conf.d/anonymous.conf   `allow_anonymous true|false`, for the broker's `include_dir`
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from register.credentials import broker_accounts
from register.credentials.broker_accounts import BrokerAccount
from register.queries import Conn
from register.queries import credentials as queries

HEADER = "# Written by Lamplighter from its register; every change rewrites it, so do not edit.\n"
# A device's own topics, one per payload format that names the device (ingest/settings.py).
DEVICE_TOPICS = ("lamplighter/+/%u/up", "lamplighter/+/%u/senml")


@dataclass(frozen=True)
class BrokerFiles:
    """The three files' text, as the register holds the credentials at one moment."""

    passwords: str
    acl: str
    anonymous: str


@dataclass(frozen=True)
class Layout:
    """Where the files of one broker are, under its directory."""

    directory: Path

    @property
    def passwords(self) -> Path:
        return self.directory / "passwd"

    @property
    def acl(self) -> Path:
        return self.directory / "acl"

    @property
    def conf_dir(self) -> Path:
        return self.directory / "conf.d"

    @property
    def anonymous(self) -> Path:
        return self.conf_dir / "anonymous.conf"


def password_file(
    devices: Sequence[tuple[str, str]], accounts: Sequence[BrokerAccount] = ()
) -> str:
    """The password file's text: a `username:hash` line for each account, then each device."""
    lines = [f"{a.username}:{a.password_hash}\n" for a in accounts]
    lines += [f"{username}:{password_hash}\n" for username, password_hash in devices]
    return HEADER + "".join(lines)


def acl_file(accounts: Sequence[BrokerAccount] = (), *, anonymous: bool = False) -> str:
    """The ACL's text: anonymous clients' rules while they are let in, each account's own
    rules, then the one pattern for every device."""
    parts = [HEADER]
    if anonymous:
        # Lines before the first `user` are anonymous clients' rules.
        parts.append("# No device has a credential yet: anonymous clients may do anything.\n")
        parts.append("topic readwrite #\n\n")
    for account in accounts:
        parts.append(f"user {account.username}\n")
        parts.extend(f"topic read {topic}\n" for topic in account.reads)
        parts.extend(f"topic write {topic}\n" for topic in account.writes)
        parts.append("\n")
    parts.append("# Every device publishes only under its own public id.\n")
    parts.extend(f"pattern write {topic}\n" for topic in DEVICE_TOPICS)
    return "".join(parts)


def anonymous_conf(anonymous: bool) -> str:
    return HEADER + f"allow_anonymous {'true' if anonymous else 'false'}\n"


def files_from_register(conn: Conn) -> BrokerFiles:
    """The files' text as the register holds the credentials now (one snapshot when called
    outside a transaction; else the caller's transaction is the snapshot)."""
    with conn.transaction():
        if conn.autocommit:  # this block began the transaction
            queries.take_snapshot(conn)
        devices = queries.list_active_hashes(conn)
        accounts = broker_accounts.active(conn)
        anonymous = not queries.any_credential_issued(conn)
    return BrokerFiles(
        password_file(devices, accounts),
        acl_file(accounts, anonymous=anonymous),
        anonymous_conf(anonymous),
    )


def write_from_register(conn: Conn, layout: Layout, *, group: int | None = None) -> bool:
    """Put the register's files in place now; True when any of them changed.

    `conn` is in autocommit. One writer at a time per directory (an advisory lock, taken before
    the snapshot), so a slower writer never puts an older snapshot over a newer one.
    """
    with queries.broker_files_lock(conn, str(layout.directory)):
        return replace_files(layout, files_from_register(conn), group=group)


def _directory(path: Path, group: int | None) -> None:
    """A directory the broker's group may read and enter, whatever the umask."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o750 if group is not None else 0o755)
    if group is not None:
        os.chown(path, -1, group)


def replace_files(layout: Layout, files: BrokerFiles, *, group: int | None = None) -> bool:
    """Put the files in place; True when any of them changed."""
    _directory(layout.directory, group)
    _directory(layout.conf_dir, group)
    changed = False
    for path, text in (
        (layout.passwords, files.passwords),
        (layout.acl, files.acl),
        (layout.anonymous, files.anonymous),
    ):
        changed = replace_file(path, text, group=group) or changed
    return changed


def replace_file(path: Path, text: str, *, group: int | None = None) -> bool:
    """Write `text` to `path` atomically (mode 0640, to `group` if given); False when the file
    already held exactly that, and was left alone."""
    try:
        if path.read_text(encoding="utf-8") == text:
            _readable_by_the_broker(path, group)
            return False
    except FileNotFoundError:
        pass
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        _readable_by_the_broker(Path(temporary), group)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def _readable_by_the_broker(path: Path, group: int | None) -> None:
    """Mode 0640, in the broker's group if given (again for a file left as it was: it may have
    been written by another user before)."""
    os.chmod(path, 0o640)
    if group is not None:
        os.chown(path, -1, group)

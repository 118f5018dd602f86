"""Mosquitto's `password_file` and `acl_file`, written from the register's credentials.

The files are made from the database every time, never edited in place, so they cannot drift
from the register: each write replaces a whole file atomically (a new file renamed over the
old), readable by the broker's user. The ACL grants each device write access only to its own
topics, by pattern (`%u` is the username, the device's public id), so one line serves every
device, however many there are.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from register.queries import Conn
from register.queries import credentials as queries

HEADER = "# Written by Lamplighter from its register; every change rewrites it, so do not edit.\n"
# A device's own topics, one per payload format that names the device (ingest/settings.py).
DEVICE_TOPICS = ("lamplighter/+/%u/up", "lamplighter/+/%u/senml")


@dataclass(frozen=True)
class Account:
    """A broker account that is not a device (the ingester, the simulator): its username, its
    `$7$` hash, and the topic rules it has (`read lamplighter/#`, `write ...`)."""

    username: str
    password_hash: str
    rules: tuple[str, ...]


def password_file(devices: Sequence[tuple[str, str]], accounts: Sequence[Account] = ()) -> str:
    """The password file's text: a `username:hash` line for each account, then each device."""
    lines = [f"{a.username}:{a.password_hash}\n" for a in accounts]
    lines += [f"{username}:{password_hash}\n" for username, password_hash in devices]
    return HEADER + "".join(lines)


def acl_file(accounts: Sequence[Account] = ()) -> str:
    """The ACL's text: each account's own rules, then the one pattern for every device."""
    parts = [HEADER]
    for account in accounts:
        parts.append(f"user {account.username}\n")
        parts.extend(f"topic {rule}\n" for rule in account.rules)
        parts.append("\n")
    parts.append("# Every device publishes only under its own public id.\n")
    parts.extend(f"pattern write {topic}\n" for topic in DEVICE_TOPICS)
    return "".join(parts)


def files_from_register(conn: Conn, accounts: Sequence[Account] = ()) -> tuple[str, str]:
    """Both files' text as the register holds the credentials now."""
    return password_file(queries.list_active_hashes(conn), accounts), acl_file(accounts)


def replace_file(path: Path, text: str, *, group: int | None = None) -> bool:
    """Write `text` to `path` atomically (mode 0640, to `group` if given); False when the file
    already held exactly that, and was left alone."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o640)
        if group is not None:
            os.chown(temporary, -1, group)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True

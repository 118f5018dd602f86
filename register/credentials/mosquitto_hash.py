"""Mosquitto 2's password hash (`$7$`: PBKDF2 with SHA-512), made and checked here exactly as
`mosquitto_passwd` does, so Lamplighter writes the broker's password file itself.

A line of the file reads `username:$7$<iterations>$<base64 salt>$<base64 hash>`, with a 12-byte
salt and 101 iterations by default (Mosquitto 2.0's `PW_DEFAULT_ITERATIONS`).

The 12 salt bytes are drawn from printable ASCII (the base64url alphabet, 6 random bits a byte:
72 bits in all), where `mosquitto_passwd` draws them from all 256 values. Mosquitto reads any 12
bytes, so the hash is its own all the same (a real Mosquitto checks ours in the credential tests,
and `verify` checks `mosquitto_passwd`'s, with binary salts). The reason is EMQX: its PBKDF2
check takes the salt as a text column (the view `emqx_authentication`, migration 0016), so a
text salt lets one stored hash serve Mosquitto's files, EMQX and mosquitto-go-auth alike.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

ITERATIONS = 101
SALT_BYTES = 12
PREFIX = "$7$"
# The base64url alphabet: printable, no `$` (the hash's separator), nothing to escape in SQL.
SALT_ALPHABET = string.ascii_letters + string.digits + "-_"


def new_salt() -> bytes:
    """12 random salt bytes, each a printable character of `SALT_ALPHABET`."""
    return "".join(secrets.choice(SALT_ALPHABET) for _ in range(SALT_BYTES)).encode("ascii")


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """The `$7$` hash of a password, with a fresh random salt unless one is given."""
    salt = new_salt() if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    encoded_salt, encoded_digest = base64.b64encode(salt), base64.b64encode(digest)
    return f"{PREFIX}{iterations}${encoded_salt.decode()}${encoded_digest.decode()}"


def verify(password: str, encoded: str) -> bool:
    """True when the password matches a `$7$` hash (one of ours or `mosquitto_passwd`'s)."""
    try:
        _, kind, iterations, salt, digest = encoded.split("$")
        if kind != "7":
            return False
        made = hash_password(password, iterations=int(iterations), salt=base64.b64decode(salt))
    except ValueError:
        return False
    return hmac.compare_digest(made.rsplit("$", 1)[1], digest)

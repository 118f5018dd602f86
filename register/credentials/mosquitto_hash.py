"""Mosquitto 2's password hash (`$7$`: PBKDF2 with SHA-512), made and checked here exactly as
`mosquitto_passwd` does, so Lamplighter writes the broker's password file itself.

A line of the file reads `username:$7$<iterations>$<base64 salt>$<base64 hash>`, with a 12-byte
random salt and 101 iterations by default (Mosquitto 2.0's `PW_DEFAULT_ITERATIONS`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ITERATIONS = 101
SALT_BYTES = 12
PREFIX = "$7$"


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """The `$7$` hash of a password, with a fresh random salt unless one is given."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
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

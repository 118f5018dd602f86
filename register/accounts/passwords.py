"""Passwords: hashed with argon2id (argon2-cffi's parameters, RFC 9106's second
recommendation), checked in constant time, and rehashed at the next login when the parameters
change. A password is never stored, logged or shown."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()
MIN_LENGTH = 12
MAX_LENGTH = 1024


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True when the password matches the hash. An account without a password (its link not
    used yet) matches nothing, and takes as long to say so."""
    if password_hash is None:
        HASHER.hash(password)  # the same work, so the answer's timing tells nothing
        return False
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)


def weakness(password: str) -> str | None:
    """Why a new password is refused, in plain words; None when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters long"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters long"
    if not password.strip():
        return "must not be only spaces"
    return None

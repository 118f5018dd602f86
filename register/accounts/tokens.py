"""Random secrets handed out once (links, session cookies, API tokens), and what is stored of
them: a SHA-256. A secret of 32 random bytes cannot be guessed, so a fast hash is enough; the
database never holds a usable secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret() -> str:
    """A URL-safe secret of 32 random bytes."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    """What is stored of a secret."""
    return hashlib.sha256(secret.encode()).digest()


def same(a: str, b: str) -> bool:
    """Compare two secrets in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())

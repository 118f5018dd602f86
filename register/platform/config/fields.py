"""How a setting is declared: `setting()` (a default, one line of help, a value check), and the
value checks that sections share.

Every package declares its own section of settings with these (`ingest/settings.py`,
`web/settings.py` …); `register.platform.config.settings` puts the sections together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A setting is unknown, has the wrong type, or has a value that cannot work."""


Check = Callable[[Any], str | None]


def setting(default: Any, help: str, *, secret: bool = False, check: Check | None = None) -> Any:
    """Declare one setting: its default, one line of help, and an optional value check."""
    if isinstance(default, list):
        return dataclasses.field(
            default_factory=lambda: list(default),
            metadata={"help": help, "secret": secret, "check": check},
        )
    return dataclasses.field(
        default=default, metadata={"help": help, "secret": secret, "check": check}
    )


def port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else "must be a port number from 1 to 65535"


def port_or_off(value: int) -> str | None:
    return None if 0 <= value <= 65535 else "must be a port number, or 0 for off"


def positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def at_least_one(value: int) -> str | None:
    return None if value >= 1 else "must be 1 or more"


def not_negative(value: float) -> str | None:
    return None if value >= 0 else "must be 0 or more"


def url_check(schemes: tuple[str, ...], *, allow_empty: bool) -> Check:
    """A check that a value is a URL with one of these schemes and a host (or empty, if allowed)."""

    def check(value: str) -> str | None:
        if value == "" and allow_empty:
            return None
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - parsing the port is what raises for a bad one
        except ValueError as error:
            return f"is not a valid URL ({error})"
        if parts.scheme not in schemes:
            return f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
        if not parts.hostname:
            return "must be a URL that names a host"
        return None

    return check


def one_of(choices: tuple[str, ...]) -> Check:
    """A check that a value is one of these choices."""

    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of: {', '.join(choices)}"

    return check

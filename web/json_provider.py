"""JSON for the data twins: times as ISO 8601 (Flask's default is an HTTP date), keys in order."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask.json.provider import DefaultJSONProvider


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return DefaultJSONProvider.default(value)


class IsoJSONProvider(DefaultJSONProvider):
    sort_keys = False
    default = staticmethod(_default)

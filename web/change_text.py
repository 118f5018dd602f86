"""An audit diff in readable form: each changed field named in words, its value before and after
as text (the console's import preview and history show changes this way)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from register import periods
from register.queries.registry import DEVICE_FIELDS, METRIC_FIELDS, ORGANISATION_FIELDS

NONE = "(none)"
# Fields that hold a period, written in ISO 8601 (P30D) and shown in words too.
PERIODS = ("retention", "reporting_interval")
# Each kind of entry's fields in the order of its form (the database returns a stored diff's
# keys in an order of its own).
ORDERS = {
    "device": ("public_id", "organisation", *DEVICE_FIELDS[1:], "metrics"),
    "organisation": ORGANISATION_FIELDS,
}


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def field_name(name: str) -> str:
    """`metrics.no2.retention` reads "metric no2: retention"; `data_types` reads "data types"."""
    if name.startswith("metrics."):
        _, key, *rest = name.split(".", 2)
        return f"metric {key}" + (f": {rest[0].replace('_', ' ')}" if rest else "")
    return name.replace("_", " ")


def value_text(value: Any, name: str = "") -> str:
    """A field's value as text: lists joined with commas, a metric as its fields, a period in
    words with its ISO 8601 form, none as such."""
    if value in (None, "", []):
        return NONE
    if name.rpartition(".")[2] in PERIODS and isinstance(value, str):
        return _period_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(value_text(item) for item in value)
    if isinstance(value, dict):
        fields = sorted(value.items(), key=lambda item: _position(item[0], METRIC_FIELDS))
        return "; ".join(f"{field_name(k)} {value_text(v, k)}" for k, v in fields)
    return str(value)


def _period_text(iso: str) -> str:
    try:
        return f"{periods.describe(periods.parse(iso))} ({iso})"
    except periods.RetentionError:
        return iso


def readable(changes: dict[str, dict[str, Any]], entity: str = "device") -> list[Change]:
    """Each change of an audit diff (`register.audit.diff`) of a device or an organisation, in
    the order of its form."""
    order = ORDERS.get(entity, ())

    def place(name: str) -> tuple[int, str, int]:
        """Its field in the form, then a metric's key, then the metric's field."""
        top, _, rest = name.partition(".")
        key, _, metric_field = rest.partition(".")
        return (_position(top, order), key, _position(metric_field, METRIC_FIELDS))

    return [
        Change(
            field_name(name),
            value_text(changes[name].get("before"), name),
            value_text(changes[name].get("after"), name),
        )
        for name in sorted(changes, key=place)
    ]


def _position(name: str, order: Sequence[str]) -> int:
    return order.index(name) if name in order else len(order)

"""A marshmallow schema's dump, compiled once into the few conversions it makes, for dumping
the whole register at once.

`Schema.dump` looks up, checks and calls every field of every entry through several layers:
about 0.1 ms for a device with its metrics, 10 s for a register of 100,000. Most fields dump a
value of the database's type (text as str, numbers as float, booleans as bool, lists as lists)
to itself. So the register's queries read each entry straight into a dict with the schema's
fields in its order, and the compiled dump converts, in place, only what needs converting:
dates, retention periods and nested entries, as the fields' own `_serialize` would. A kind of
field it does not know is an error when compiling, never a silent difference; tests check the
result against `Schema.dump` on every kind of entry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from marshmallow import Schema, fields

from register import periods
from register.schemas import Retention

Convert = Callable[[Any], Any]
Dump = Callable[[dict[str, Any]], dict[str, Any]]
# Fields whose dump of a value of the database's type is the value itself.
AS_THEY_ARE = (fields.String, fields.Boolean, fields.Float)


def field_names(schema: Schema) -> tuple[str, ...]:
    """The schema's fields in the order its dump gives them."""
    return tuple(schema.dump_fields)


def compile_dump_in_place(schema: Schema) -> Dump:
    """A function that turns a dict holding exactly the schema's fields, in `field_names` order,
    with values as the database returns them, into what `schema.dump` gives; it returns the
    same dict."""
    converters = tuple(
        (name, convert)
        for name, field in schema.dump_fields.items()
        if (convert := _converter(field)) is not None
    )

    def dump(entry: dict[str, Any]) -> dict[str, Any]:
        for name, convert in converters:
            value = entry[name]
            if value is not None:
                entry[name] = convert(value)
        return entry

    return dump


def _iso_date(value: date) -> str:
    return value.isoformat()


@lru_cache(maxsize=1024)
def _iso_period(value: timedelta) -> str:
    # A register holds a handful of distinct retention periods, so each is formatted once.
    return periods.to_iso(value)


def _converter(field: fields.Field[Any]) -> Convert | None:
    """How to dump a (non-null) value of this field; None when it dumps to itself."""
    if isinstance(field, fields.Nested | fields.List):
        return _container_converter(field)
    if isinstance(field, Retention):
        return _iso_period
    if isinstance(field, fields.Date) and field.format in (None, "iso"):
        return _iso_date
    if not any(
        isinstance(field, kind) and type(field)._serialize is kind._serialize
        for kind in AS_THEY_ARE
    ):
        raise TypeError(f"no compiled dump for {type(field).__name__} fields; add one")
    return None


def _container_converter(field: fields.Nested | fields.List[Any]) -> Convert | None:
    if isinstance(field, fields.Nested):
        nested = compile_dump_in_place(field.schema)
        if field.many or field.schema.many:
            return lambda values: [nested(v) for v in values]
        return nested
    inner = _converter(field.inner)
    if inner is None:
        return None
    return lambda values: [None if v is None else inner(v) for v in values]

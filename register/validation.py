"""Validation errors as people read them: one line per field, with list positions.

marshmallow reports nested errors as nested dicts (`{"metrics": {2: {"unit": [...]}}}`); this
turns them into `FieldError("metrics[2].unit", "...")`, which the command line, the import report
and the API's problem responses all print the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError as MarshmallowError


@dataclass(frozen=True, order=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidEntry(Exception):
    """Input that does not pass validation; `errors` lists every problem found."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key == "_schema":
        return path
    return f"{path}.{key}" if path else str(key)


def flatten(messages: Any, path: str = "") -> list[FieldError]:
    """marshmallow's nested error messages as a flat, ordered list of field errors."""
    found: list[FieldError] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            found.extend(flatten(value, _join(path, key)))
    elif isinstance(messages, list | tuple):
        for item in messages:
            found.extend(flatten(item, path))
    else:
        found.append(FieldError(path, _plain(str(messages))))
    return found


def _plain(text: str) -> str:
    """marshmallow's own messages ("Not a valid number.") in the register's lower-case style."""
    if text == "Unknown field.":
        return "unknown field"
    if text == "Missing data for required field.":
        return "is required"
    if text[:1].isupper() and not text[:2].isupper():
        text = text[0].lower() + text[1:]
    return text.removesuffix(".")


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """Load data through a schema, raising InvalidEntry with every field error."""
    if not isinstance(data, Mapping):
        raise InvalidEntry([FieldError("", "must be an object of fields")])
    try:
        loaded: dict[str, Any] = schema.load(data)
    except MarshmallowError as error:
        raise InvalidEntry(flatten(error.messages)) from None
    return loaded

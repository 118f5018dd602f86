"""The filters of the console's record pages (history, refused messages): one of the
organisation's own devices to choose, the chosen one checked, whole numbers read safely, and the
page, with 400 when a filter is not valid."""

from __future__ import annotations

from typing import Any

from flask import render_template

from register.accounts.users import User
from register.queries import Conn
from register.queries import registry as register_queries
from web.device_filters import Filters
from web.device_list import everything


def options(conn: Conn, user: User, every: str) -> list[tuple[str, str]]:
    """The person's organisation's devices as (public id, label) choices, after `every`
    (the choice of no one device)."""
    devices = everything(conn, Filters(organisation=user.organisation))
    return [("", every)] + [(d["public_id"], f"{d['public_id']}: {d['name']}") for d in devices]


def chosen_id(conn: Conn, user: User, public_id: str, errors: dict[str, str]) -> int | None:
    """The id of the chosen device (None for none chosen), or an error under "device" when it is
    not a device of the person's organisation: another's is not told apart from one that does
    not exist."""
    if not public_id:
        return None
    row = register_queries.get_device_row(conn, public_id)
    if row is None or row["organisation_id"] != user.organisation_id:
        errors["device"] = f"{public_id[:64]!r} is not a device of {user.organisation_name}"
        return None
    device_id: int = row["id"]
    return device_id


def whole_number(text: str, lowest: int, highest: int) -> int | None:
    """`text` as a whole number from `lowest` to `highest`, or None when it is not one. Only the
    digits 0 to 9 count: `str.isdigit` also takes "²", which `int` refuses, and thousands of
    digits would pass Python's limit for `int`."""
    if not (text.isascii() and text.isdecimal()) or len(text) > len(str(highest)):
        return None
    number = int(text)
    return number if lowest <= number <= highest else None


def filtered_page(
    template: str, errors: dict[str, str], labels: dict[str, str], **context: Any
) -> tuple[str, int]:
    """The page, with each filter's error (field id -> message) by its field and in the summary
    at the top (`labels` names the fields there); 400 when there is any."""
    return render_template(template, errors=errors, labels=labels, **context), (
        400 if errors else 200
    )

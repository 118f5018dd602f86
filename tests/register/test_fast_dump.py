"""The compiled dump that lists the whole register gives exactly what the schema's dump gives."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from marshmallow import Schema, fields

from register import devices
from register.fast_dump import compile_dump_in_place
from tests.register.test_import_export import seed

Conn = psycopg.Connection[Any]


def test_listing_the_register_gives_what_the_schema_dumps(conn: Conn) -> None:
    seed(conn)  # every kind of field in use: dates, periods in days and hours, empty lists
    listed = devices.list_devices(conn)
    # One device at a time, through marshmallow.
    by_schema = [devices.get_device(conn, entry["public_id"]) for entry in listed]
    # The same values, of the same types, with the keys in the same order.
    assert json.dumps(listed) == json.dumps(by_schema)
    assert len(listed) == 4


def test_a_field_kind_it_does_not_know_cannot_be_compiled() -> None:
    class Odd(Schema):
        when = fields.DateTime()

    with pytest.raises(TypeError, match="no compiled dump for DateTime fields"):
        compile_dump_in_place(Odd())

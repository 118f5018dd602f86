"""What a change does to a device's data, in words, from its audit diff: a sentence for each
change that deletes or refuses data, and none for any other."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from register import audit
from tests.register.factories import device_entry
from web.device_consequences import needing_confirmation

EVERY = timedelta(minutes=15)


def said(before: dict[str, Any], after: dict[str, Any], **withdrawn: timedelta) -> list[str]:
    return needing_confirmation(audit.diff(before, after), EVERY, withdrawn)


def entry(**changes: Any) -> dict[str, Any]:
    """A device entry as the register dumps it."""
    return device_entry(**changes)


def with_metric(base: dict[str, Any], key: str, **changes: Any) -> dict[str, Any]:
    changed = {**base, "metrics": [dict(m) for m in base["metrics"]]}
    for metric in changed["metrics"]:
        if metric["key"] == key:
            metric.update(changes)
    return changed


def test_changes_that_neither_delete_nor_refuse_data_need_no_words() -> None:
    before = entry()
    assert said(before, {**before, "name": "Renamed", "place": "elsewhere"}) == []
    assert said(before, with_metric(before, "no2", retention="P90D", open_data=False)) == []
    assert said({**before, "status": "planned"}, {**before, "status": "active"}) == []


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("decommissioned", "It will be decommissioned: from then on the ingester refuses every"),
        ("suspended", "Its status changes from active to suspended: from then on the ingester"),
        ("planned", "Its status changes from active to planned: from then on the ingester"),
    ],
)
def test_a_status_that_refuses_messages_is_said(status: str, words: str) -> None:
    before = entry(status="active")
    (sentence,) = said(before, {**before, "status": status})
    assert sentence.startswith(words)


def test_a_lorawan_id_changed_or_removed_is_said() -> None:
    before = entry(dev_eui="70B3D57ED0001234", ttn_device_id="camden-aq-1")
    after = {**before, "dev_eui": "70B3D57ED0009999", "ttn_device_id": None}
    assert said(before, after) == [
        "Its LoRaWAN DevEUI 70B3D57ED0001234 changes to 70B3D57ED0009999: from then on the "
        "ingester refuses messages that name the old one, as from a device the register does "
        "not know.",
        "Its The Things Network device id camden-aq-1 is removed: from then on the ingester "
        "refuses messages that name the old one, as from a device the register does not know.",
    ]
    assert said({**before, "dev_eui": None}, {**before, "dev_eui": "70B3D57ED0001234"}) == []


def test_a_metrics_kind_and_unit_are_said() -> None:
    before = entry()
    kind, no_unit = said(before, with_metric(before, "no2", value_kind="boolean", unit=""))
    assert {kind, no_unit} == {
        "Metric no2 will take yes/no values instead of numbers: from then on the ingester "
        "refuses readings other than true, false, 1 and 0.",
        "Metric no2's unit changes from ug/m3 to none: from then on the ingester converts "
        "readings sent in another unit only where the two convert exactly (mV and V, say), and "
        "refuses the others; a reading that names no unit is taken to be in the new one.",
    }
    (unit,) = said(before, with_metric(before, "no2", unit="mg/m3"))
    assert unit.startswith("Metric no2's unit changes from ug/m3 to mg/m3: from then on")


def test_withdrawn_shortened_and_declared_again_shorter_are_said() -> None:
    before = entry()
    without = {**before, "metrics": before["metrics"][1:]}
    (withdrawn,) = said(before, without)
    assert withdrawn.startswith("Metric no2 (Nitrogen dioxide) will be withdrawn.")
    (shorter,) = said(before, with_metric(before, "no2", retention="P7D"))
    assert shorter.startswith("Readings of no2 older than 1 week will be deleted")
    (again,) = said(without, before, no2=timedelta(days=365))
    assert "no2 was withdrawn earlier, and its stored readings were kept for 1 year" in again
    assert said(without, before, no2=timedelta(days=7)) == []

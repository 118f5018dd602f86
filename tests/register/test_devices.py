"""Register changes: each writes an audit event with a field-level diff, and notifies listeners."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import psycopg
import pytest

from register import audit, devices, organisations
from register.audit import Actor, NotAllowed
from register.platform.config import Settings
from register.validation import FieldError, InvalidEntry
from tests.register.at_once import second_waits_for_first
from tests.register.factories import (
    ADMIN,
    add_device,
    add_organisation,
    device_entry,
    organisation_entry,
)

Conn = psycopg.Connection[Any]


def device_history(conn: Conn, public_id: str = "camden-aq-0001") -> list[dict[str, Any]]:
    row = conn.execute("SELECT id FROM devices WHERE public_id = %s", (public_id,)).fetchone()
    assert row is not None
    return audit.history(conn, "device", row[0])


def test_create_records_every_field_as_added(conn: Conn) -> None:
    add_device(conn)
    (event,) = device_history(conn)
    assert event["action"] == "create"
    assert event["actor"] == ADMIN.label
    assert event["changes"]["status"] == {"before": None, "after": "active"}
    assert event["changes"]["metrics.no2"]["after"]["retention"] == "P30D"
    assert event["changes"]["metrics.no2"]["before"] is None


def test_update_records_only_what_changed(conn: Conn) -> None:
    add_device(conn)
    entry = device_entry(purposes=["health", "ecology"], place="lamp post 43, Camden High Street")
    entry["metrics"][0]["retention"] = "90 days"
    result = devices.update_device(conn, "camden-aq-0001", entry, ADMIN, note="longer retention")
    assert result.action == "update"
    events = device_history(conn)
    assert [e["action"] for e in events] == ["create", "update"]
    assert events[1]["changes"] == {
        "place": {
            "before": "lamp post 42, Camden High Street",
            "after": "lamp post 43, Camden High Street",
        },
        "purposes": {
            "before": ["health", "planning_decision_making"],
            "after": ["health", "ecology"],
        },
        "metrics.no2.retention": {"before": "P30D", "after": "P90D"},
    }
    assert events[1]["note"] == "longer retention"
    stored = devices.get_device(conn, "camden-aq-0001")
    assert stored is not None and stored["metrics"][0]["retention"] == "P90D"


def test_a_change_of_reporting_interval_is_recorded_like_any_other(conn: Conn) -> None:
    add_device(conn)
    devices.update_device(conn, "camden-aq-0001", device_entry(reporting_interval="15 min"), ADMIN)
    devices.update_device(conn, "camden-aq-0001", device_entry(reporting_interval="PT1H"), ADMIN)
    devices.update_device(conn, "camden-aq-0001", device_entry(reporting_interval=None), ADMIN)
    events = device_history(conn)
    assert "reporting_interval" not in events[0]["changes"]  # not declared when created
    assert [e["changes"] for e in events[1:]] == [
        {"reporting_interval": {"before": None, "after": "PT15M"}},
        {"reporting_interval": {"before": "PT15M", "after": "PT1H"}},
        {"reporting_interval": {"before": "PT1H", "after": None}},
    ]
    stored = devices.get_device(conn, "camden-aq-0001")
    assert stored is not None and stored["reporting_interval"] is None


def test_adding_and_withdrawing_metrics_is_recorded_and_keeps_ids(conn: Conn) -> None:
    add_device(conn)
    (no2_id,) = conn.execute("SELECT id FROM device_metrics WHERE key = 'no2'").fetchone() or (
        None,
    )
    only_pm = device_entry(metrics=[device_entry()["metrics"][1]])
    devices.update_device(conn, "camden-aq-0001", only_pm, ADMIN)
    assert device_history(conn)[-1]["changes"] == {
        "metrics.no2": {"before": device_entry()["metrics"][0], "after": None}
    }
    stored = devices.get_device(conn, "camden-aq-0001")
    assert stored is not None and [m["key"] for m in stored["metrics"]] == ["pm2_5"]
    devices.update_device(conn, "camden-aq-0001", device_entry(), ADMIN)
    assert set(device_history(conn)[-1]["changes"]) == {"metrics.no2"}
    # Declared again, the metric is the same row: readings stored before still point at it.
    assert conn.execute("SELECT id FROM device_metrics WHERE key = 'no2'").fetchone() == (no2_id,)


def test_an_update_that_changes_nothing_records_nothing(conn: Conn) -> None:
    add_device(conn)
    result = devices.update_device(conn, "camden-aq-0001", device_entry(), ADMIN)
    assert result.action == "unchanged"
    assert len(device_history(conn)) == 1


def test_decommission_archives_the_device_and_keeps_its_history(conn: Conn) -> None:
    add_device(conn)
    result = devices.decommission_device(conn, "camden-aq-0001", ADMIN, on=date(2026, 11, 1))
    assert result.action == "decommission"
    assert result.changes == {
        "status": {"before": "active", "after": "decommissioned"},
        "decommissioned_on": {"before": None, "after": "2026-11-01"},
    }
    stored = devices.get_device(conn, "camden-aq-0001")
    assert stored is not None and stored["status"] == "decommissioned"
    assert [m["key"] for m in stored["metrics"]] == ["no2", "pm2_5"]
    assert [e["action"] for e in device_history(conn)] == ["create", "decommission"]
    # Archived: it cannot be changed back.
    with pytest.raises(InvalidEntry, match="is decommissioned; its entry is archived"):
        devices.update_device(conn, "camden-aq-0001", device_entry(), ADMIN)
    assert devices.decommission_device(conn, "camden-aq-0001", ADMIN).action == "unchanged"


def test_organisation_changes_are_audited(conn: Conn) -> None:
    add_organisation(conn)
    changes = organisations.update_organisation(
        conn, "camden", organisation_entry(contact_email="iot@camden.gov.uk"), ADMIN
    )
    assert changes == {
        "contact_email": {"before": "sensors@camden.gov.uk", "after": "iot@camden.gov.uk"}
    }
    (org_id,) = conn.execute("SELECT id FROM organisations").fetchone() or (None,)
    assert [e["action"] for e in audit.history(conn, "organisation", org_id)] == [
        "create",
        "update",
    ]


def test_public_history_names_the_organisation_not_the_person(conn: Conn) -> None:
    add_device(conn)
    (device_id, org_id) = conn.execute("SELECT id, organisation_id FROM devices").fetchone() or (
        0,
        0,
    )
    engineer = Actor("alex@camden.gov.uk", organisation_id=org_id)
    devices.update_device(
        conn, "camden-aq-0001", device_entry(name="Kerbside air monitor"), engineer
    )
    history = audit.public_history(conn, "device", device_id)
    assert [h["by"] for h in history] == ["London Borough of Camden"] * 2
    assert "alex@camden.gov.uk" not in json.dumps(history, default=str)
    assert audit.history(conn, "device", device_id)[-1]["actor"] == "alex@camden.gov.uk"


def test_an_engineer_cannot_change_another_organisations_device(conn: Conn) -> None:
    add_device(conn)
    add_organisation(conn, "hackney")
    (hackney_id,) = conn.execute(
        "SELECT id FROM organisations WHERE slug = 'hackney'"
    ).fetchone() or (0,)
    outsider = Actor("sam@hackney.gov.uk", organisation_id=hackney_id)
    with pytest.raises(NotAllowed):
        devices.update_device(conn, "camden-aq-0001", device_entry(name="Taken over"), outsider)
    with pytest.raises(NotAllowed):
        devices.create_device(conn, device_entry("camden-aq-0009"), outsider)
    with pytest.raises(NotAllowed):
        organisations.create_organisation(conn, organisation_entry("sutton"), outsider)


def test_context_errors_name_the_field(conn: Conn) -> None:
    add_device(conn, dev_eui="70B3D57ED0001234")
    with pytest.raises(InvalidEntry) as caught:
        devices.create_device(
            conn,
            device_entry("camden-aq-0002", organisation="camdem", dev_eui="70B3D57ED0001234"),
            ADMIN,
        )
    messages = {e.field: e.message for e in caught.value.errors}
    assert messages["organisation"] == "no organisation 'camdem'; close matches: camden"
    assert messages["dev_eui"] == "70B3D57ED0001234 already belongs to device camden-aq-0001"
    with pytest.raises(InvalidEntry, match="camden-aq-0001 is already registered"):
        devices.create_device(conn, device_entry(), ADMIN)


def test_register_changes_notify_listeners(migrated_settings: Settings, conn: Conn) -> None:
    conn.commit()
    with psycopg.connect(migrated_settings.database_url, autocommit=True) as listener:
        listener.execute("LISTEN register_changed")
        device_id = add_device(conn)
        conn.commit()
        received = [json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=4)]
        devices.update_device(conn, "camden-aq-0001", device_entry(name="Renamed"), ADMIN)
        conn.rollback()  # an uncommitted change notifies nobody
        devices.decommission_device(conn, "camden-aq-0001", ADMIN)
        conn.commit()
        after_decommission = [
            json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=1)
        ]
    tables = {r["table"] for r in received}
    assert tables == {"organisations", "devices", "device_metrics"}
    assert {r["device_id"] for r in received if r["table"] != "organisations"} == {device_id}
    assert after_decommission == [{"table": "devices", "id": device_id, "device_id": device_id}]


def test_a_personal_metric_stays_personal_even_after_it_was_withdrawn(conn: Conn) -> None:
    """Its stored readings are personal data: declaring the key not personal (and open) would
    publish them."""
    counted = {"key": "faces", "label": "Faces seen", "unit": "count", "retention": "P7D"}
    personal = device_entry(
        data_types=["personal"], legal_basis="public_task", dpia_url="https://example.org/dpia",
        metrics=[{**counted, "personal": True}],
    )  # fmt: skip
    add_device(conn, **{k: v for k, v in personal.items() if k != "public_id"})
    made_open = device_entry(metrics=[{**counted, "personal": False, "open_data": True}])
    with pytest.raises(InvalidEntry, match=r"metrics\[0\]\.personal: metric faces was declared"):
        devices.update_device(conn, "camden-aq-0001", made_open, ADMIN)
    devices.update_device(conn, "camden-aq-0001", {**personal, "metrics": []}, ADMIN)
    with pytest.raises(InvalidEntry, match="it stays personal"):
        devices.update_device(conn, "camden-aq-0001", made_open, ADMIN)


def test_a_change_based_on_an_old_version_is_refused_and_changes_nothing(conn: Conn) -> None:
    add_device(conn)
    opened = devices.version_of(devices.get_device(conn, "camden-aq-0001") or {})
    devices.update_device(conn, "camden-aq-0001", device_entry(place="lamp post 43"), ADMIN)
    now = devices.get_device(conn, "camden-aq-0001") or {}
    assert devices.version_of(now) != opened
    with pytest.raises(devices.StaleEntry) as stale:
        devices.update_device(
            conn,
            "camden-aq-0001",
            device_entry(place="lamp post 44"),
            ADMIN,
            expected_version=opened,
        )
    assert stale.value.current_version == devices.version_of(now)
    with pytest.raises(devices.StaleEntry):
        devices.decommission_device(conn, "camden-aq-0001", ADMIN, expected_version=opened)
    assert devices.get_device(conn, "camden-aq-0001") == now
    assert [e["action"] for e in device_history(conn)] == ["create", "update"]
    result = devices.update_device(
        conn,
        "camden-aq-0001",
        device_entry(place="lamp post 44"),
        ADMIN,
        expected_version=devices.version_of(now),
    )
    assert result.action == "update"


@pytest.mark.parametrize(
    ("second_id", "field", "message"),
    [
        ("camden-aq-0042", "public_id", "camden-aq-0042 is already registered"),
        ("camden-aq-0043", "dev_eui", "70B3D57ED0000042 already belongs to another device"),
    ],
)
def test_of_two_creates_at_once_of_one_device_the_second_is_refused_by_its_field(
    migrated_settings: Settings, conn: Conn, second_id: str, field: str, message: str
) -> None:
    """Both see the id (or DevEUI) free; the second's insert waits on the first's, and once the
    first commits it is an InvalidEntry on that field, not a database error."""
    add_organisation(conn)
    conn.commit()
    dev_eui = "70B3D57ED0000042"
    devices.create_device(conn, device_entry("camden-aq-0042", dev_eui=dev_eui), ADMIN)
    entry = device_entry(second_id, dev_eui=dev_eui, name="The second")
    refused = second_waits_for_first(
        migrated_settings, conn, lambda second: devices.create_device(second, entry, ADMIN)
    )
    assert [(type(e), getattr(e, "errors", None)) for e in refused] == [
        (InvalidEntry, [FieldError(field, message)])
    ]
    rows = conn.execute("SELECT public_id, name FROM devices").fetchall()
    assert rows == [("camden-aq-0042", "Air quality monitor")]
    assert [e["action"] for e in device_history(conn, "camden-aq-0042")] == ["create"]

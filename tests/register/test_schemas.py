"""Validation: every kind of error names its field (list positions too) and what is allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from register import validation
from register.schemas import DeviceSchema, OrganisationSchema
from register.validation import InvalidEntry
from tests.register.factories import device_entry, organisation_entry


def errors_of(schema: Any, entry: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidEntry) as caught:
        validation.load(schema, entry)
    return {e.field: e.message for e in caught.value.errors}


def metric(**changes: Any) -> dict[str, Any]:
    base = {"key": "no2", "label": "NO2", "unit": "ug/m3", "retention": "P30D"}
    return {**base, **changes}


def test_a_good_device_loads_with_defaults_and_typed_values() -> None:
    entry = device_entry(metrics=[metric(retention="30 days")], status="planned")
    del entry["data_types"], entry["legal_basis"]
    loaded = validation.load(DeviceSchema(), entry)
    assert loaded["metrics"][0]["retention"] == timedelta(days=30)
    assert loaded["metrics"][0]["value_kind"] == "number"
    assert loaded["metrics"][0]["personal"] is False
    assert loaded["data_types"] == [] and loaded["legal_basis"] is None
    assert str(loaded["installed_on"]) == "2026-03-01"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"colour": "red"}, "colour", "unknown field"),
        ({"public_id": "Camden LP 42"}, "public_id", "not a valid public id; use lower-case"),
        ({"public_id": "a" * 65}, "public_id", "too long"),
        ({"name": "   "}, "name", "must not be blank"),
        (
            {"status": "broken"},
            "status",
            "must be one of: planned, active, suspended, decommissioned",
        ),
        ({"latitude": 91}, "latitude", "must be between -90 and 90"),
        ({"longitude": -181}, "longitude", "must be between -180 and 180"),
        ({"latitude": "north"}, "latitude", "not a valid number"),
        ({"latitude": float("nan")}, "latitude", "(nan or infinity) are not permitted"),
        (
            {"purposes": ["safety"]},
            "purposes[0]",
            "not a DTPR purpose; close matches: safety_security",
        ),
        (
            {"purposes": ["health", "safty_security"]},
            "purposes[1]",
            "close matches: safety_security",
        ),
        (
            {"purposes": ["health", "mobility", "inform", "ecology"]},
            "purposes",
            "name between 1 and 3 purposes",
        ),
        ({"purposes": []}, "purposes", "name between 1 and 3 purposes"),
        ({"technology": []}, "technology", "name at least one technology"),
        ({"technology": ["camera"]}, "technology[0]", "close matches: video_camera"),
        ({"storage": ["cloud"]}, "storage[0]", "not a DTPR storage"),
        ({"legal_basis": "because"}, "legal_basis", "must be one of: consent, contract"),
        ({"dpia_url": "ftp://x.org/dpia"}, "dpia_url", "not a valid URL"),
        ({"contact_email": "nobody"}, "contact_email", "not a valid email address"),
        ({"installed_on": "1st March"}, "installed_on", "not a valid date"),
        ({"dev_eui": "70B3D57ED00012"}, "dev_eui", "not a DevEUI; use 16 hexadecimal digits"),
        (
            {"metrics": [metric(), metric(unit="cel")]},
            "metrics[1].unit",
            "'cel' is not a SenML unit; close matches: Cel",
        ),
        (
            {"metrics": [metric(retention="forever")]},
            "metrics[0].retention",
            "'forever' is not a retention period; use an ISO 8601 duration",
        ),
        ({"metrics": [metric(retention="P-1D")]}, "metrics[0].retention", "not a retention period"),
        ({"metrics": [metric(key="NO 2")]}, "metrics[0].key", "not a valid metric key"),
        ({"metrics": [metric(shape="round")]}, "metrics[0].shape", "unknown field"),
        ({"metrics": [{"key": "no2"}]}, "metrics[0].unit", "is required"),
        (
            {"metrics": [metric(value_kind="text")]},
            "metrics[0].value_kind",
            "must be one of: number, boolean",
        ),
        (
            {"metrics": [metric(personal=True, open_data=True)]},
            "metrics[0].open_data",
            "a personal-data metric cannot be open data",
        ),
        ({"metrics": [metric(), metric()]}, "metrics", "metric keys must be unique; repeated: no2"),
        (
            {"metrics": [metric(personal=True)], "data_types": ["personal"]},
            "legal_basis",
            "is required because metric no2 is personal data",
        ),
        (
            {
                "metrics": [metric(personal=True)],
                "legal_basis": "public_task",
                "data_types": ["personal"],
            },
            "dpia_url",
            "is required because metric no2 is personal",
        ),
        (
            {
                "metrics": [metric(personal=True)],
                "legal_basis": "public_task",
                "dpia_url": "https://camden.gov.uk/dpia",
            },
            "data_types",
            "must include 'personal'",
        ),
        (
            {"status": "decommissioned"},
            "decommissioned_on",
            "is required when status is decommissioned",
        ),
        ({"decommissioned_on": "2026-05-01"}, "decommissioned_on", "must be empty unless"),
        (
            {"status": "decommissioned", "decommissioned_on": "2025-01-01"},
            "decommissioned_on",
            "must not be before installed_on",
        ),
    ],
)
def test_each_kind_of_device_error_names_its_field(
    changes: dict[str, Any], field: str, message: str
) -> None:
    found = errors_of(DeviceSchema(), device_entry(**changes))
    assert field in found, found
    assert message in found[field]


def test_missing_required_fields_are_all_reported_at_once() -> None:
    found = errors_of(DeviceSchema(), {"metrics": []})
    required = {
        "public_id",
        "organisation",
        "name",
        "latitude",
        "longitude",
        "place",
        "technology",
        "purposes",
    }
    assert required <= set(found)
    assert all(found[f] == "is required" for f in required)


def test_a_boolean_metric_may_have_no_unit_but_a_number_may_not() -> None:
    loaded = validation.load(
        DeviceSchema(), device_entry(metrics=[metric(unit="", value_kind="boolean")])
    )
    assert loaded["metrics"][0]["unit"] == ""
    assert "metrics[0].unit" in errors_of(DeviceSchema(), device_entry(metrics=[metric(unit="")]))


def test_dev_eui_separators_and_case_are_normalised() -> None:
    loaded = validation.load(DeviceSchema(), device_entry(dev_eui="70:b3:d5:7e:d0:00:12:34"))
    assert loaded["dev_eui"] == "70B3D57ED0001234"


def test_blank_optional_cells_mean_not_given() -> None:
    loaded = validation.load(
        DeviceSchema(), device_entry(dpia_url=" ", contact_email="", installed_on="")
    )
    assert (
        loaded["dpia_url"] is None
        and loaded["contact_email"] is None
        and loaded["installed_on"] is None
    )


@pytest.mark.parametrize(
    ("given", "stored", "dumped"),
    [
        ("PT15M", timedelta(minutes=15), "PT15M"),
        ("pt1h", timedelta(hours=1), "PT1H"),
        ("P1D", timedelta(days=1), "P1D"),
        ("5 minutes", timedelta(minutes=5), "PT5M"),
        (" ", None, None),
        (None, None, None),
    ],
)
def test_a_reporting_interval_is_optional_and_written_in_iso_8601(
    given: str | None, stored: timedelta | None, dumped: str | None
) -> None:
    loaded = validation.load(DeviceSchema(), device_entry(reporting_interval=given))
    assert loaded["reporting_interval"] == stored
    assert DeviceSchema().dump(loaded)["reporting_interval"] == dumped


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("often", "'often' is not a reporting interval; use an ISO 8601 duration such as PT15M"),
        ("PT", "'PT' is not a reporting interval"),
        ("P0D", "must be longer than zero; use an ISO 8601 duration"),
        ("0", "must be longer than zero"),
        ("not retained", "must be longer than zero"),
        ("-PT5M", "is not a reporting interval"),
        ("P2Y", "must be 1 year at most"),
        (15, "'15' is not a reporting interval"),
        (["PT1M"], "must be text"),
    ],
)
def test_a_bad_reporting_interval_says_what_is_allowed(given: Any, message: str) -> None:
    found = errors_of(DeviceSchema(), device_entry(reporting_interval=given))
    assert message in found["reporting_interval"], found


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"slug": "Camden Council"}, "slug", "not a valid organisation slug"),
        ({"kind": "council"}, "kind", "must be one of: borough"),
        ({"contact_email": "camden"}, "contact_email", "not a valid email address"),
        ({"privacy_notice_url": "camden.gov.uk"}, "privacy_notice_url", "not a valid URL"),
        ({"motto": "x"}, "motto", "unknown field"),
    ],
)
def test_each_kind_of_organisation_error_names_its_field(
    changes: dict[str, Any], field: str, message: str
) -> None:
    found = errors_of(OrganisationSchema(), organisation_entry(**changes))
    assert message in found[field]


def test_input_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidEntry, match="must be an object of fields"):
        validation.load(DeviceSchema(), ["not", "a", "device"])


def test_a_device_cannot_be_decommissioned_in_the_future() -> None:
    """Up to tomorrow in UTC is today somewhere; the day after is in the future everywhere."""
    today = datetime.now(UTC).date()
    for day in (today, today + timedelta(days=1)):
        entry = device_entry(status="decommissioned", decommissioned_on=day.isoformat())
        assert validation.load(DeviceSchema(), entry)["decommissioned_on"] == day
    later = device_entry(
        status="decommissioned", decommissioned_on=(today + timedelta(days=2)).isoformat()
    )
    with pytest.raises(InvalidEntry) as refused:
        validation.load(DeviceSchema(), later)
    assert [str(e) for e in refused.value.errors] == [
        "decommissioned_on: must not be in the future: a device is decommissioned once it is "
        "out of service"
    ]


def test_an_organisation_slug_error_gives_an_organisation_slug_as_its_example() -> None:
    with pytest.raises(InvalidEntry) as refused:
        validation.load(OrganisationSchema(), organisation_entry("Camden Council"))
    assert "e.g. camden" in str(refused.value) and "camden-lp-0042" not in str(refused.value)

"""What an import's report tells a preview: each device's changes, an outcome that a commit must
match, and every entry an organisation's engineer may not write."""

from __future__ import annotations

from typing import Any

import pytest

from register import devices, exports, imports
from register.audit import Actor
from register.platform import db
from register.platform.config import Settings
from tests.register.factories import ADMIN, add_device, device_entry, rows_of


def engineer_of(settings: Settings, slug: str) -> Actor:
    with db.connect(settings) as conn:
        row = conn.execute("SELECT id FROM organisations WHERE slug = %s", (slug,)).fetchone()
    assert row is not None
    return Actor(f"an engineer of {slug}", organisation_id=row[0])


def entries(*raw: dict[str, Any]) -> list[imports.Entry]:
    return [imports.Entry(f"device {n}", entry) for n, entry in enumerate(raw, start=1)]


def register_state(settings: Settings) -> tuple[list[Any], list[Any]]:
    with db.connect(settings) as conn:
        return (
            conn.execute("SELECT * FROM devices ORDER BY id").fetchall(),
            conn.execute("SELECT * FROM audit_events ORDER BY id").fetchall(),
        )


def test_a_dry_run_reports_each_devices_changes_and_an_outcome_a_commit_must_match(
    migrated_settings: Settings,
) -> None:
    with db.connect(migrated_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
    renamed = device_entry("camden-aq-0001", name="Kerbside monitor")

    def run(*, expected_outcome: str | None) -> imports.ImportReport:
        """The file (camden-aq-0001 renamed, camden-aq-0002 new): a dry run without an expected
        outcome, else committed if its outcome is the one expected."""
        with db.connect(migrated_settings) as conn, conn.transaction():
            return imports.import_entries(
                conn,
                entries(renamed, device_entry("camden-aq-0002")),
                ADMIN,
                dry_run=expected_outcome is None,
                expected_outcome=expected_outcome,
            )

    preview = run(expected_outcome=None)
    assert preview.updated == ["camden-aq-0001"] and preview.created == ["camden-aq-0002"]
    assert preview.changes["camden-aq-0001"] == {
        "name": {"before": "Air quality monitor", "after": "Kerbside monitor"}
    }
    assert preview.changes["camden-aq-0002"]["public_id"] == {
        "before": None,
        "after": "camden-aq-0002",
    }
    # The register changes before the commit: the commit stores nothing and says what it would do.
    with db.connect(migrated_settings) as conn, conn.transaction():
        devices.update_device(conn, "camden-aq-0001", renamed, ADMIN)
    before = register_state(migrated_settings)
    stale = run(expected_outcome=preview.outcome())
    assert stale.outcome_changed and stale.ok
    assert stale.unchanged == ["camden-aq-0001"] and stale.created == ["camden-aq-0002"]
    assert register_state(migrated_settings) == before
    done = run(expected_outcome=stale.outcome())
    assert not done.outcome_changed and done.created == ["camden-aq-0002"]
    with db.connect(migrated_settings) as conn:
        assert devices.get_device(conn, "camden-aq-0002") is not None


def test_every_entry_of_another_organisation_is_a_problem_and_nothing_is_stored(
    migrated_settings: Settings,
) -> None:
    with db.connect(migrated_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        add_device(conn, "hackney-aq-0001", organisation="hackney")
    camden = engineer_of(migrated_settings, "camden")
    before = register_state(migrated_settings)
    file = entries(
        device_entry("camden-aq-0002"),
        device_entry("hackney-aq-0001"),  # Hackney's device, claimed for Camden
        device_entry("hackney-aq-0002", organisation="hackney"),
        device_entry("hackney-aq-0003", organisation="hackney"),
    )
    with db.connect(migrated_settings) as conn, conn.transaction():
        report = imports.import_entries(conn, file, camden, dry_run=False)
    assert report.forbidden and not report.created
    assert report.problems == [
        "device 2, public_id: device hackney-aq-0001 belongs to another organisation (hackney);"
        " you may only change your own organisation's",
        "device 3, organisation: you may only change entries of your own organisation,"
        " not London Borough of Hackney",
        "device 4, organisation: you may only change entries of your own organisation,"
        " not London Borough of Hackney",
    ]
    assert register_state(migrated_settings) == before
    # The command line may write every organisation's entries.
    with db.connect(migrated_settings) as conn:
        assert imports.import_entries(conn, file, ADMIN, dry_run=True).ok


def test_an_entry_that_is_not_an_object_is_a_problem_not_a_crash(
    migrated_settings: Settings,
) -> None:
    with db.connect(migrated_settings) as conn:
        report = imports.import_entries(conn, entries("camden-aq-0001"), ADMIN, dry_run=True)  # type: ignore[arg-type]
    assert report.problems == ["device 1, entry: must be an object of fields"]


def whole_register(settings: Settings, fmt: str, **renamed: str) -> list[imports.Entry]:
    """The register's download in `fmt`, read back, with each device of `renamed` (public id:
    new name) renamed, as a person edits a download before importing it."""
    with db.connect(settings) as conn:
        file = imports.read(exports.build(conn, fmt).decode(), fmt)
    for entry in file:
        if entry.raw["public_id"] in renamed:
            entry.raw["name"] = renamed[entry.raw["public_id"]]
    return file


def device_rows(settings: Settings, organisation: str) -> list[Any]:
    with db.connect(settings) as conn:
        return rows_of(conn, organisation)


def camden_and_hackney(settings: Settings) -> None:
    """Camden's device, and two of Hackney's: one placed to 12 decimals (GeoJSON keeps 7) with
    a description in white space (a CSV cell loses it), as an API may store them."""
    with db.connect(settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        add_device(
            conn,
            "hackney-aq-0001",
            organisation="hackney",
            latitude=51.546123456789,
            longitude=-0.055987654321,
            description="  Measures NO2 on Mare Street.\n",
        )
        add_device(conn, "hackney-aq-0002", organisation="hackney", dev_eui="70B3D57ED0000002")


@pytest.mark.parametrize("fmt", ["csv", "json", "geojson"])
def test_the_whole_register_with_one_own_device_changed_imports_that_change_alone(
    migrated_settings: Settings, fmt: str
) -> None:
    camden_and_hackney(migrated_settings)
    camden = engineer_of(migrated_settings, "camden")
    hackney_before = device_rows(migrated_settings, "hackney")
    file = whole_register(migrated_settings, fmt, **{"camden-aq-0001": "Kerbside monitor"})
    with db.connect(migrated_settings) as conn, conn.transaction():
        report = imports.import_entries(conn, file, camden, dry_run=False)
    assert report.ok and not report.forbidden
    assert report.updated == ["camden-aq-0001"] and not report.created
    assert report.others_unchanged == ["hackney-aq-0001", "hackney-aq-0002"]
    with db.connect(migrated_settings) as conn:
        first = devices.get_device(conn, "camden-aq-0001")
        events = conn.execute(
            "SELECT action FROM audit_events WHERE note = 'import' ORDER BY id"
        ).fetchall()
    assert first is not None and first["name"] == "Kerbside monitor"
    assert events == [("update",)]
    assert device_rows(migrated_settings, "hackney") == hackney_before


def test_for_the_command_line_no_device_is_another_organisations(
    migrated_settings: Settings,
) -> None:
    camden_and_hackney(migrated_settings)
    file = whole_register(migrated_settings, "json", **{"hackney-aq-0001": "Renamed"})
    with db.connect(migrated_settings) as conn:
        report = imports.import_entries(conn, file, ADMIN, dry_run=True)
    assert report.ok and not report.others_unchanged
    assert report.updated == ["hackney-aq-0001"]
    assert report.unchanged == ["camden-aq-0001", "hackney-aq-0002"]


def test_another_organisations_device_that_the_file_changes_is_refused_and_nothing_stored(
    migrated_settings: Settings,
) -> None:
    camden_and_hackney(migrated_settings)
    camden = engineer_of(migrated_settings, "camden")
    before = register_state(migrated_settings)
    file = whole_register(
        migrated_settings, "json", **{"camden-aq-0001": "Mine", "hackney-aq-0002": "Theirs"}
    )
    with db.connect(migrated_settings) as conn, conn.transaction():
        report = imports.import_entries(conn, file, camden, dry_run=False)
    assert report.forbidden and not report.updated
    assert report.others_changed == ["hackney-aq-0002"]
    assert report.others_written == ["hackney"]
    assert report.problems == [
        "device 3, name: device hackney-aq-0002 is hackney's, and the file changes its name; "
        "you may only change your own organisation's devices (give the others as they are, or "
        "leave them out)"
    ]
    assert register_state(migrated_settings) == before


def test_a_commit_is_refused_when_a_device_left_alone_was_changed_by_its_organisation(
    migrated_settings: Settings,
) -> None:
    camden_and_hackney(migrated_settings)
    camden = engineer_of(migrated_settings, "camden")
    file = whole_register(migrated_settings, "json", **{"camden-aq-0001": "Kerbside monitor"})
    with db.connect(migrated_settings) as conn, conn.transaction():
        preview = imports.import_entries(conn, file, camden, dry_run=True)
    assert preview.ok and preview.others_unchanged == ["hackney-aq-0001", "hackney-aq-0002"]
    # Hackney renames its device: the file would now change it back.
    with db.connect(migrated_settings) as conn, conn.transaction():
        devices.update_device(
            conn,
            "hackney-aq-0002",
            device_entry(
                "hackney-aq-0002", organisation="hackney", dev_eui="70B3D57ED0000002", name="New"
            ),
            ADMIN,
        )
    before = register_state(migrated_settings)
    with db.connect(migrated_settings) as conn, conn.transaction():
        stale = imports.import_entries(
            conn, file, camden, dry_run=False, expected_outcome=preview.outcome()
        )
    assert stale.outcome_changed and stale.forbidden
    assert stale.others_changed == ["hackney-aq-0002"]
    assert stale.problems[0].startswith(
        "device 3, name: device hackney-aq-0002 is hackney's, and the file changes its name"
    )
    assert register_state(migrated_settings) == before
    # Without a preview to compare with, or with another file's, the same file is only
    # forbidden; so is a file whose Hackney device differs from the previewed file's.
    other = whole_register(migrated_settings, "json", **{"camden-aq-0001": "Another name"})
    forged = whole_register(
        migrated_settings, "json", **{"camden-aq-0001": "Kerbside monitor", "hackney-aq-0002": "X"}
    )
    with db.connect(migrated_settings) as conn, conn.transaction():
        elsewhere = imports.import_entries(conn, other, camden, dry_run=True)
        for tried, expected in [
            (file, None),
            (file, elsewhere.outcome()),
            (forged, preview.outcome()),
        ]:
            again = imports.import_entries(
                conn, tried, camden, dry_run=expected is None, expected_outcome=expected
            )
            assert again.forbidden and not again.outcome_changed
    assert register_state(migrated_settings) == before

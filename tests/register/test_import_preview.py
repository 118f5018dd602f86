"""What an import's report tells a preview: each device's changes, an outcome that a commit must
match, and every entry an organisation's engineer may not write."""

from __future__ import annotations

from typing import Any

from register import devices, imports
from register.audit import Actor
from register.platform import db
from register.platform.config import Settings
from tests.register.factories import ADMIN, add_device, device_entry


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

"""The console's import, history and refused-messages pages in headless Chromium: an engineer
previews a file with problems, then one with changes, commits it, and reads the history and the
refused messages; axe finds no violations on any of these pages, errors included."""

from __future__ import annotations

from playwright.sync_api import Page

from register.platform.config import Settings
from tests.register.factories import device_entry
from tests.web.conftest import axe_violations, sign_in_with_the_browser
from tests.web.test_console_import import devices_file
from tests.web.test_console_quarantine import refuse


def choose_file(page: Page, name: str, content: bytes) -> None:
    page.set_input_files(
        "#file", files=[{"name": name, "mimeType": "text/plain", "buffer": content}]
    )
    page.get_by_role("button", name="Preview the import").click()


def test_import_history_and_refused_messages_work_in_a_browser_and_pass_axe(
    page: Page, live_server: str, engineer: str, web_settings: Settings
) -> None:
    refuse(web_settings, "camden-aq-0001", "unit_mismatch", b'{"no2": {"v": 40, "u": "ppb"}}')
    refuse(web_settings, "camden-aq-0001", "invalid_json", b"\xff\xfe binary")
    sign_in_with_the_browser(page, live_server, engineer)

    page.goto(f"{live_server}/console/import")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Preview the import").click()  # no file chosen
    assert "choose a file to import" in page.inner_text(".error-summary")
    assert axe_violations(page) == []

    bad = device_entry("camden-aq-0002", latitude=95)
    choose_file(
        page,
        "devices.json",
        devices_file(bad, device_entry("hackney-aq-0002", organisation="hackney")),
    )
    problems = page.inner_text(".error-summary")
    assert "device 1, latitude:" in problems and "device 2, organisation:" in problems
    assert page.get_by_role("button", name="Commit this import").count() == 0
    assert axe_violations(page) == []
    page.get_by_role("link", name="upload it again").click()

    changed = device_entry("camden-aq-0001", name="Kerbside air monitor")
    # Hackney's device, as the register has it, is left alone.
    theirs = device_entry("hackney-aq-0001", organisation="hackney")
    choose_file(page, "devices.json", devices_file(changed, device_entry("camden-aq-0002"), theirs))
    assert "would create 1, update 1 and leave unchanged 0 devices" in page.inner_text("main")
    assert "1 device of other organisations" in page.inner_text("main")
    assert "Kerbside air monitor" in page.inner_text("table.changes")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Commit this import").click()
    assert "The import is saved: 1 device created, 1 updated" in page.inner_text("main")
    assert axe_violations(page) == []

    page.get_by_role("link", name="your organisation's history").click()
    assert "Changed: camden-aq-0001" in page.inner_text("main")
    assert "by ada <ada@camden.gov.uk>" in page.inner_text("main")
    assert axe_violations(page) == []

    page.goto(f"{live_server}/console/quarantine")
    assert "camden-aq-0001: unit_mismatch" in page.inner_text("main")
    assert "ff fe 20 62 69 6e 61 72 79" in page.inner_text("main")
    assert axe_violations(page) == []
    page.goto(f"{live_server}/console/quarantine?days=99")
    assert "is not a number of days" in page.inner_text(".error-summary")
    assert axe_violations(page) == []

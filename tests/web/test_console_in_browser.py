"""Issue 12's browser test, in real headless Chromium: an engineer signs in, adds a device with
a mistake and corrects it, finds it on the public map and in its public history, withdraws a
metric after confirming, and decommissions it; axe finds no violation on any console page."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.web.conftest import axe_violations, sign_in_with_the_browser

NAME = "Euston Road air monitor"
PLACE = "lamp post 7, Euston Road"


def test_an_engineer_adds_a_device_finds_it_in_public_and_decommissions_it(
    page: Page, live_server: str, engineer: str
) -> None:
    # 1. Sign in.
    sign_in_with_the_browser(page, live_server, engineer)
    page.get_by_role("link", name="Devices", exact=True).click()
    assert page.inner_text("h1") == "Devices of London Borough of Camden"
    assert axe_violations(page) == []

    # 2. Add a device with a mistake: the error shows by its field, and the input is kept.
    page.get_by_role("link", name="Add a device").click()
    assert axe_violations(page) == []
    page.get_by_label("Public id").fill("camden-aq-0099")
    page.get_by_label("Name", exact=True).fill(NAME)
    page.get_by_label("Place").fill(PLACE)
    page.get_by_label("Latitude").fill("151.5")
    page.get_by_label("Longitude").fill("-0.1337")
    page.get_by_label("Status").select_option("active")
    page.get_by_role("group", name="Technology").get_by_label("Air Quality").check()
    page.get_by_role("group", name="Purposes (1 to 3)").get_by_label("Health").check()
    metric = page.get_by_role("group", name="Metric 1 (new)")
    metric.get_by_label("Key").fill("no2")
    metric.get_by_label("Label").fill("Nitrogen dioxide")
    metric.get_by_label("Unit").fill("ug/m3")
    metric.get_by_label("Kept for").fill("30 days")
    metric.get_by_label("Open data: its readings are published").check()
    page.get_by_role("button", name="Add the device").click()
    error = page.locator("#latitude-error")
    assert error.inner_text() == "Latitude: must be between -90 and 90 (WGS84 degrees)"
    assert "latitude-error" in (
        page.get_by_label("Latitude").get_attribute("aria-describedby") or ""
    )
    assert page.get_by_label("Latitude").input_value() == "151.5"
    assert page.get_by_label("Name", exact=True).input_value() == NAME
    assert page.get_by_role("group", name="Metric 1 (new)").get_by_label("Unit").input_value() == (
        "ug/m3"
    )
    page.get_by_role("link", name="Latitude: must be between -90 and 90").click()
    assert page.url.endswith("#latitude")
    assert axe_violations(page) == []

    # 3. Correct it and save: far from the other devices, so it is a marker of its own.
    # Enter in a field saves (it does not add a metric row).
    page.get_by_label("Latitude").fill("51.45")
    page.get_by_label("Latitude").press("Enter")
    assert "Device camden-aq-0099 was added." in page.inner_text("main")
    assert axe_violations(page) == []

    # 4. On the public map, and in its public history.
    page.goto(live_server)
    page.wait_for_selector("#map[data-markers]")
    assert page.get_attribute("#map", "data-markers") == "3"
    page.locator(f'img.leaflet-marker-icon[alt="{NAME}, {PLACE}"]').click()
    page.locator(".leaflet-popup-content").get_by_role("link", name=NAME).click()
    assert page.url.endswith("/devices/camden-aq-0099")
    history = page.locator("ol.history").inner_text()
    assert "create by London Borough of Camden" in history

    # Withdrawing its metric asks first, saying what happens to the data.
    page.goto(f"{live_server}/console/devices/camden-aq-0099/edit")
    assert axe_violations(page) == []
    page.get_by_label("Withdraw this metric").check()
    page.get_by_role("button", name="Save the changes").click()
    assert "Metric no2 (Nitrogen dioxide) will be withdrawn." in page.inner_text("main")
    assert axe_violations(page) == []
    page.get_by_role("button", name="No, go back to the form").click()
    assert page.get_by_label("Withdraw this metric").is_checked()
    page.get_by_role("button", name="Save the changes").click()
    page.get_by_role("button", name="Yes, save the change").click()
    assert "Device camden-aq-0099 was saved." in page.inner_text("main")

    # 5. Decommission it: its public page says so.
    page.goto(f"{live_server}/console/devices/camden-aq-0099/edit")
    page.get_by_role("link", name="Decommission this device").click()
    assert axe_violations(page) == []
    date = page.get_by_label("Date it was taken out of service")
    date.fill("")
    page.get_by_role("button", name="Decommission this device").click()
    assert page.locator("#decommissioned_on-error").inner_text() == (
        "Date: must be a date, such as 2026-11-29"
    )
    assert axe_violations(page) == []
    date.fill("2026-01-01")
    page.get_by_role("button", name="Decommission this device").click()
    assert "Device camden-aq-0099 was decommissioned." in page.inner_text("main")
    assert axe_violations(page) == []
    page.get_by_role("link", name="its public page").click()
    assert "Decommissioned: removed from service" in page.inner_text("main")
    assert "decommissioned on 2026-01-01" in page.inner_text("main")
    assert "decommission by London Borough of Camden" in page.locator("ol.history").inner_text()

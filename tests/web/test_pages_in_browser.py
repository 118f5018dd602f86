"""The public pages in real headless Chromium: sections, the no-JavaScript search, and axe-core
accessibility checks (WCAG 2.2 AA rules) with zero violations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, Route

from register.accounts import users
from register.jobs.compliance import compute_compliance
from register.jobs.silence import mark_silent
from register.platform import db
from register.platform.config import Settings
from tests.conftest import database_of_its_own
from tests.register.factories import add_device
from tests.register.test_silence import registered
from tests.web.conftest import axe_violations, blocked_by_policy, serving
from tests.web.samples import add_camera
from tests.web.test_device_page import HEADINGS
from web.app import create_app
from web.database import EXTENSION


@pytest.fixture(scope="module")
def site(settings: Settings, migrated_template: str) -> Iterator[str]:
    """Address of the site serving a register of two air-quality monitors (Camden, with a reading
    kept too long and a refused message, and Hackney on Mare Street, which is not reporting every
    minute as it says) and a Camden camera, with compliance figures computed, in a migrated
    database of this module's own. The tests that only look at it share it; one that changes the
    register uses `live_server`."""
    with database_of_its_own(settings, migrated_template) as register:
        with db.connect(register) as conn:
            with conn.transaction():
                device_id = add_device(conn, "camden-aq-0001")
                hackney = add_device(
                    conn,
                    "hackney-aq-0001",
                    organisation="hackney",
                    place="Mare Street",
                    reporting_interval="PT1M",
                )
                add_camera(conn)
                # Compliance figures with both answers and a refusal, so axe checks them too.
                conn.execute(
                    "INSERT INTO readings SELECT now() - interval '40 days', device_id, id, 1"
                    " FROM device_metrics WHERE device_id = %s AND key = 'no2'",
                    (device_id,),
                )
                conn.execute(
                    "INSERT INTO quarantine (source, topic, payload, payload_size, reason, message,"
                    " device_id) VALUES ('native', 't', 'x', 1, 'unit_mismatch', 'test', %s)",
                    (device_id,),
                )
            registered(conn, hackney, timedelta(hours=1))
            mark_silent(conn, register)
            compute_compliance(conn, register)
        app = create_app(register)
        app.config["TESTING"] = True
        try:
            with serving(app) as url:
                yield url
        finally:
            app.extensions[EXTENSION].close()


def test_a_device_page_shows_each_plain_english_section(page: Page, site: str) -> None:
    page.goto(f"{site}/devices/camden-cam-0001")
    shown = page.get_by_role("heading", level=2).all_inner_texts()
    assert [h for h in shown if h in HEADINGS] == list(HEADINGS)
    assert "Which law allows the personal data?" in shown
    assert page.get_by_text("This device collects personal data.").is_visible()
    assert page.locator("html").get_attribute("lang") == "en-GB"


def test_the_search_works_without_javascript(browser: Browser, site: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(site)
        page.get_by_label("Place, street, organisation or device").fill("mare street")
        page.get_by_label("Personal data").select_option("no")
        page.get_by_role("button", name="Show sensors").click()
        page.wait_for_url("**/?q=mare+street*")
        assert page.get_by_role("heading", name="1 sensor").is_visible()
        page.get_by_role("link", name="Air quality monitor").click()
        assert page.url.endswith("/devices/hackney-aq-0001")
    finally:
        context.close()


@pytest.mark.parametrize(
    "path", ["/", "/devices/camden-cam-0001", "/devices/camden-aq-0001", "/organisations/camden",
             "/about", "/system", "/devices/camden-cam-0001/sign", "/api",
             "/devices/hackney-aq-0001", "/organisations/hackney", "/?reporting=no"],
)  # fmt: skip
def test_axe_finds_no_accessibility_violations(page: Page, site: str, path: str) -> None:
    page.goto(site + path)
    if path == "/":
        page.wait_for_selector("#map[data-markers]")
    assert axe_violations(page) == []


@pytest.mark.parametrize(
    "path", ["/", "/devices/camden-cam-0001", "/devices/camden-aq-0001", "/organisations/camden",
             "/about", "/system", "/devices/camden-cam-0001/sign", "/api", "/console/login"],
)  # fmt: skip
def test_no_page_breaks_its_content_security_policy(page: Page, site: str, path: str) -> None:
    """Chromium reports each thing the policy blocked (an inline script or style, a file from
    elsewhere) on the console; the map is opened and a marker's popup too."""
    refused = blocked_by_policy(page)
    response = page.goto(site + path)
    assert (
        response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    )
    if path == "/":
        page.wait_for_selector("#map[data-markers]")
        page.locator(".leaflet-marker-icon").first.click()
    page.wait_for_load_state("networkidle")
    assert refused == []


def test_a_device_not_reporting_says_so_on_its_page_in_the_list_and_on_the_map(
    page: Page, site: str
) -> None:
    page.goto(f"{site}/devices/hackney-aq-0001")
    working = page.locator("section[aria-labelledby=live]")
    assert "Not reporting since" in working.inner_text()
    assert "it is expected every minute." in working.inner_text()
    page.goto(f"{site}/?reporting=no")
    assert page.get_by_role("heading", name="1 sensor").is_visible()
    assert "Not reporting since" in page.locator("ul.devices").inner_text()
    page.wait_for_selector("#map[data-markers]")
    marker = page.locator("img.marker-not-reporting")
    assert marker.count() == 1
    assert marker.get_attribute("alt") == "Air quality monitor, Mare Street (not reporting)"
    marker.click()
    assert "Not reporting since" in page.locator(".leaflet-popup-content").inner_text()


def test_the_home_map_shows_every_marker_with_no_network(page: Page, site: str) -> None:
    outside: list[str] = []

    def only_this_site(route: Route) -> None:
        if route.request.url.startswith(site):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_site)
    page.goto(site)
    page.wait_for_selector("#map[data-markers]")
    assert page.get_attribute("#map", "data-markers") == "3"
    # Devices close together are drawn as one cluster, so there is at least one icon.
    assert page.locator(".leaflet-marker-icon").first.is_visible()
    assert outside and all("tile.openstreetmap.org" in url for url in outside), outside


def test_near_me_lists_the_nearby_devices_nearest_first(
    browser: Browser, live_server: str, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        for public_id, metres in (("camden-aq-0001", 300), ("camden-aq-0002", 100),
                                  ("camden-aq-0003", 5000)):  # fmt: skip
            add_device(conn, public_id, latitude=51.5390 + metres / 111_195)
    context = browser.new_context(
        geolocation={"latitude": 51.5390, "longitude": -0.1426}, permissions=["geolocation"]
    )
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        live_server) else route.abort())  # fmt: skip
    page = context.new_page()
    try:
        page.goto(live_server)
        page.get_by_role("button", name="Sensors near me").click()
        page.wait_for_url("**/?near=51.53900,-0.14260")
        assert page.get_by_role(
            "heading", name="2 sensors within 500 m, nearest first"
        ).is_visible()
        listed = page.locator("ul.devices li").all_inner_texts()
        assert [text.split("(")[1].split(" m away")[0] for text in listed] == ["100", "300"]
    finally:
        context.close()


# What a keyboard can reach: links, form controls, and anything given a tab stop (the map and
# its markers).
INTERACTIVE = (
    "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex='-1'])"
)
_FOCUSED = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    e.dataset.reached = "yes";
    const s = getComputedStyle(e);
    const outlined = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
    return [e.tagName + " " + (e.getAttribute("href") || e.className || e.name || ""),
            outlined || s.boxShadow !== "none"];
}"""


@pytest.mark.parametrize(
    "path", ["/", "/devices/camden-cam-0001", "/organisations/camden", "/about", "/system", "/api"]
)
def test_every_control_is_reached_by_the_keyboard_with_a_visible_focus(
    page: Page, site: str, path: str
) -> None:
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(site) else r.abort())
    page.goto(site + path)
    if path == "/":
        page.wait_for_selector("#map[data-markers]")
    visible = "els => els.filter(e => e.getClientRects().length > 0).length"
    targets = page.eval_on_selector_all(INTERACTIVE, visible)
    unfocused: list[str] = []
    for _ in range(targets + 3):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if focused is not None and not focused[1]:
            unfocused.append(focused[0])
    missed = page.eval_on_selector_all(
        INTERACTIVE,
        "els => els.filter(e => e.getClientRects().length > 0 && e.dataset.reached !== 'yes')"
        ".map(e => e.outerHTML.slice(0, 120))",
    )
    assert targets > 3
    assert missed == []
    assert unfocused == [], "focused without a visible outline"


def test_the_console_signs_in_in_a_browser_and_its_pages_pass_axe(
    page: Page, live_server: str, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        _, secret = users.add_user(
            conn, organisation="camden", email="ada@camden.gov.uk", role="engineer"
        )

    page.goto(f"{live_server}/console/password/{secret}")
    assert axe_violations(page) == []
    page.get_by_label("New password").fill("correct horse battery staple")
    page.get_by_label("The same again").fill("correct horse battery staple")
    page.get_by_role("button", name="Set the password").click()
    assert "Your password is set" in page.inner_text("main")
    assert axe_violations(page) == []
    page.get_by_label("Email address").fill("ada@camden.gov.uk")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/console/")
    assert "London Borough of Camden: the console" in page.inner_text("h1")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Sign out").click()
    assert "You have signed out." in page.inner_text("main")

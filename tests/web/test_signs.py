"""The QR code and the printable sign for the lamp post."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

from flask.testing import FlaskClient

from register.platform import db
from register.platform.config import Settings
from tests.register.factories import add_device
from tests.web.samples import add_camera
from web import signs
from web.app import create_app
from web.database import EXTENSION


def test_the_qr_code_is_an_svg_linking_to_the_device_page(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
    answer = client.get("/devices/camden-aq-0001/qr.svg")
    assert answer.status_code == 200 and answer.mimetype == "image/svg+xml"
    root = ET.fromstring(answer.data)  # noqa: S314 - our own response, not untrusted input
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    title = "QR code: the page of Air quality monitor"
    assert answer.data == signs.qr_svg("http://localhost/devices/camden-aq-0001", title)
    assert client.get("/devices/camden-aq-9999/qr.svg").status_code == 404


def test_the_qr_code_uses_the_public_address_when_one_is_set(web_settings: Settings) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
    public = dataclasses.replace(
        web_settings,
        web=dataclasses.replace(web_settings.web, public_url="https://sensors.camden.gov.uk/"),
    )
    app = create_app(public)
    try:
        answer = app.test_client().get("/devices/camden-aq-0001/qr.svg")
    finally:
        app.extensions[EXTENSION].close()
    expected = signs.qr_svg(
        "https://sensors.camden.gov.uk/devices/camden-aq-0001",
        "QR code: the page of Air quality monitor",
    )
    assert answer.data == expected


def test_the_sign_shows_purpose_who_is_accountable_personal_data_and_the_qr_code(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        add_camera(conn)
    html = client.get("/devices/camden-cam-0001/sign").get_data(as_text=True)
    assert '<main class="sign personal">' in html
    assert "This sensor collects personal data" in html
    assert "<li>Safety &amp; Security</li>" in html
    assert "London Borough of Camden" in html
    assert 'src="/devices/camden-cam-0001/qr.svg"' in html
    assert "http://localhost/devices/camden-cam-0001" in html
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
    plain = client.get("/devices/camden-aq-0001/sign").get_data(as_text=True)
    assert '<main class="sign not-personal">' in plain

"""The console's refused messages: an organisation's devices' quarantined messages by device and
reason, with counts, first and last seen and the latest payloads shown safely; never another
organisation's; those of unknown devices only to administrators."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from register.platform import db
from register.platform.config import Settings
from tests.register.factories import add_device
from tests.web.console_client import add_account, sign_in
from tests.web.console_pages import refused_by_field, text_of
from web.payload_text import SHOWN_CHARACTERS

NOW = datetime.now(UTC).replace(microsecond=0)


def refuse(
    settings: Settings,
    public_id: str | None,
    reason: str,
    payload: bytes,
    *,
    ago: timedelta = timedelta(minutes=5),
    size: int | None = None,
    topic: str = "lamplighter/camden/camden-aq-0001/up",
) -> None:
    """A quarantine record as the ingester writes it, for a device of the register (or None)."""
    with db.connect(settings) as conn, conn.transaction():
        conn.execute(
            "INSERT INTO quarantine (received_at, source, topic, payload, payload_size, reason,"
            " message, device_id)"
            " VALUES (%s, 'native', %s, %s, %s, %s, 'refused in a test',"
            " (SELECT id FROM devices WHERE public_id = %s))",
            (NOW - ago, topic, payload, size or len(payload), reason, public_id),
        )


@pytest.fixture
def refused(web_settings: Settings, engineer: str) -> Settings:
    """Refused messages of Camden's device (four of a unit mismatch, one not UTF-8, one long, one
    three days old) and of its second one, of Hackney's device, and of a device the register
    does not know."""
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0002")
    refuse(web_settings, "camden-aq-0002", "device_not_active", b"{}")
    for n in range(1, 5):
        payload = f'{{"n": {n}, "no2": {{"v": 40, "u": "ppb"}}, "note": "<script>x</script>"}}'
        refuse(
            web_settings,
            "camden-aq-0001",
            "unit_mismatch",
            payload.encode(),
            ago=timedelta(minutes=10 - n),
        )
    refuse(web_settings, "camden-aq-0001", "invalid_json", b"\xff\x00\x01binary")
    refuse(
        web_settings,
        "camden-aq-0001",
        "payload_too_large",
        b"A" * 4096 + "é".encode()[:1],
        size=70_000,
    )
    refuse(web_settings, "camden-aq-0001", "no_readings", b"{}", ago=timedelta(days=3))
    refuse(
        web_settings,
        "hackney-aq-0001",
        "unit_mismatch",
        b'{"secret": "HACKNEY-PAYLOAD"}',
        topic="lamplighter/hackney/hackney-aq-0001/up",
    )
    refuse(
        web_settings,
        None,
        "unknown_device",
        b'{"who": "STRANGER-PAYLOAD"}',
        topic="lamplighter/camden/camden-xx-9999/up",
    )
    return web_settings


def group_text(page: str, title: str) -> str:
    """The text of one group's section, from its heading to the next."""
    start = page.index(title)
    end = page.find('<section class="refusals"', start)
    return page[start : end if end != -1 else len(page)]


def test_refused_messages_are_grouped_by_device_and_reason_with_the_latest_payloads(
    client: FlaskClient, engineer: str, refused: Settings
) -> None:
    sign_in(client, engineer)
    answer = client.get("/console/quarantine")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    units = group_text(page, "camden-aq-0001: unit_mismatch")
    assert "<strong>4</strong> messages refused" in units
    assert "A reading was in a different unit from the one declared." in units
    # The latest three, newest first, escaped: no markup of a payload reaches the page.
    assert [int(n) for n in re.findall(r"&#34;n&#34;: (\d)", units)] == [4, 3, 2]
    assert "&lt;script&gt;x&lt;/script&gt;" in units and "<script>" not in page
    binary = group_text(page, "camden-aq-0001: invalid_json")
    assert "Not UTF-8 text, so shown as hexadecimal bytes." in binary
    assert "ff 00 01 62 69 6e 61 72 79" in binary
    large = group_text(page, "camden-aq-0001: payload_too_large")
    assert "The message was 70,000 bytes; only the first 4,097 are kept." in large
    assert f"Cut: the first {SHOWN_CHARACTERS:,} of 4,096 characters are shown." in large
    assert "A" * SHOWN_CHARACTERS + "</pre>" in large
    assert "camden-aq-0001: no_readings" in page  # three days ago, within the 7 kept
    # Another organisation's messages and unknown devices' are not an engineer's to see.
    assert "HACKNEY-PAYLOAD" not in page and "hackney-aq-0001" not in page
    assert "STRANGER-PAYLOAD" not in page and "does not know" not in page


def test_a_topic_with_control_or_direction_characters_is_shown_with_them_written_out(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    """A topic is what the sender chose: a right-to-left override in it would reorder what
    follows it on the page, so it is written out like a payload's control characters."""
    refuse(
        web_settings,
        "camden-aq-0001",
        "unit_mismatch",
        b"{}",
        topic="lamplighter/camden/camden-aq-0001/\u202eup\x07",
    )
    sign_in(client, engineer)
    page = client.get("/console/quarantine").get_data(as_text=True)
    assert "\u202e" not in page and "\x07" not in page
    assert "camden-aq-0001/\\x202eup\\x07" in page


def test_the_filters_narrow_to_a_device_a_reason_and_a_number_of_days(
    client: FlaskClient, engineer: str, refused: Settings
) -> None:
    sign_in(client, engineer)
    by_reason = text_of(client.get("/console/quarantine?reason=invalid_json"))
    assert (
        "camden-aq-0001: invalid_json" in by_reason
        and "camden-aq-0001: unit_mismatch" not in by_reason
    )
    recent = text_of(client.get("/console/quarantine?days=1"))
    assert "camden-aq-0001: unit_mismatch" in recent and "camden-aq-0001: no_readings" not in recent
    every = text_of(client.get("/console/quarantine"))
    assert "camden-aq-0002: device_not_active" in every
    one = text_of(client.get("/console/quarantine?device=camden-aq-0001&days=7"))
    assert "camden-aq-0001: no_readings" in one and "camden-aq-0002: device_not" not in one


@pytest.mark.parametrize(
    "case",
    [
        ("device=hackney-aq-0001", "device", "'hackney-aq-0001' is not a device of"),
        ("reason=not_a_reason", "reason", "'not_a_reason' is not a reason the ingester gives"),
        ("days=8", "days", "'8' is not a number of days from 1 to 7"),
        ("days=-1", "days", "'-1' is not a number of days from 1 to 7"),
        # str.isdigit takes "²" (which int refuses) and fullwidth digits: each a 400.
        ("days=%C2%B2", "days", "'²' is not a number of days from 1 to 7"),
        ("days=%EF%BC%97", "days", "'\uff17' is not a number of days from 1 to 7"),
        ("days=" + "7" * 5000, "days", f"'{'7' * 20}' is not a number of days from 1 to 7"),
    ],
)
def test_a_filter_that_is_not_valid_is_refused_by_its_field(
    client: FlaskClient, engineer: str, refused: Settings, case: tuple[str, str, str]
) -> None:
    query, field, message = case
    sign_in(client, engineer)
    page = refused_by_field(client.get(f"/console/quarantine?{query}"), 400, field, message)
    assert "HACKNEY-PAYLOAD" not in page


def test_an_administrator_also_sees_messages_of_devices_the_register_does_not_know(
    client: FlaskClient, refused: Settings
) -> None:
    admin = add_account(refused, "camden", "grace@camden.gov.uk", role="admin")
    sign_in(client, admin)
    page = client.get("/console/quarantine").get_data(as_text=True)
    unknown = page[page.index("From devices the register does not know") :]
    assert "Unknown device: unknown_device" in unknown and "STRANGER-PAYLOAD" in unknown
    assert "lamplighter/camden/camden-xx-9999/up" in unknown
    assert "HACKNEY-PAYLOAD" not in page  # still not another organisation's


def test_the_refused_messages_need_a_signed_in_person(client: FlaskClient) -> None:
    assert client.get("/console/quarantine").headers["Location"].startswith("/console/login")

"""The console's bulk import: a preview of every problem, or of what is created and changed,
before anything is stored; a commit of exactly what was previewed, all or nothing; entries of
another organisation refused with 403; every kind of bad file refused with a clear 4xx."""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from register import devices, exports
from register.platform import db
from register.platform.config import Settings
from tests.register.factories import ADMIN, add_device, device_entry, rows_of
from tests.web.console_client import form_token, sign_in
from tests.web.console_pages import refused_by_field, text_of
from web.views.console.imports import MAX_FILE_BYTES

HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


BOUNDARY = "lamplighter-test-boundary"


def multipart(fields: dict[str, str], file: tuple[bytes, str] | None) -> bytes:
    """A multipart/form-data body, made here in memory: the test client's own encoder spools a
    large file to a temporary file that it never closes."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    if file is not None:
        content, filename = file
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
            "\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def post_multipart(client: FlaskClient, path: str, body: bytes) -> TestResponse:
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={BOUNDARY}")


def upload(
    client: FlaskClient, content: bytes | None, filename: str = "devices.json", fmt: str = ""
) -> TestResponse:
    """Send a file to the import's preview, as its form does."""
    fields = {"csrf_token": form_token(client, "/console/import"), "format": fmt}
    file = (content, filename) if content is not None else None
    return post_multipart(client, "/console/import", multipart(fields, file))


def commit(client: FlaskClient, preview: TestResponse, **changed: str) -> TestResponse:
    """Press "Commit this import" on a preview page (with some hidden fields changed)."""
    fields = dict(HIDDEN.findall(preview.get_data(as_text=True)))
    fields.update(changed)
    body = multipart({name: html.unescape(value) for name, value in fields.items()}, None)
    return post_multipart(client, "/console/import/commit", body)


def devices_file(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"format": "lamplighter.devices/1", "devices": list(entries)}).encode()


def register_state(settings: Settings) -> tuple[list[Any], list[Any]]:
    """Every device row and audit event, to show that a refused import changed nothing."""
    with db.connect(settings) as conn:
        rows = conn.execute("SELECT * FROM devices ORDER BY id").fetchall()
        events = conn.execute("SELECT * FROM audit_events ORDER BY id").fetchall()
    return rows, events


@pytest.fixture
def signed_in(client: FlaskClient, engineer: str, web_settings: Settings) -> FlaskClient:
    """Ada of Camden, signed in; Camden also has camden-aq-0003, which the files leave as is."""
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0003")
    sign_in(client, engineer)
    return client


def changed_and_new() -> bytes:
    """camden-aq-0001 renamed with a shorter no2 retention, camden-aq-0002 new,
    camden-aq-0003 as it is."""
    changed = device_entry("camden-aq-0001", name="Kerbside air monitor")
    changed["metrics"][0]["retention"] = "P7D"
    return devices_file(changed, device_entry("camden-aq-0002"), device_entry("camden-aq-0003"))


def test_the_preview_shows_what_is_created_changed_and_unchanged_and_stores_nothing(
    signed_in: FlaskClient, web_settings: Settings
) -> None:
    before = register_state(web_settings)
    preview = upload(signed_in, changed_and_new())
    assert preview.status_code == 200
    text = text_of(preview)
    assert "would create 1, update 1 and leave unchanged 1 device" in text
    assert "camden-aq-0002" in text and "Air quality monitor" in text
    assert "name Air quality monitor Kerbside air monitor" in text  # field, before, after
    assert "metric no2: retention 30 days (P30D) 1 week (P7D)" in text
    assert "Unchanged devices (1) camden-aq-0003" in text
    # The shorter retention is said in words, as the device form says it before saving.
    assert "What it will do to data already collected camden-aq-0001" in text
    assert (
        "Readings of no2 older than 1 week will be deleted at the next retention run (it runs "
        "every 15 minutes); until now they were kept for 30 days." in text
    )
    assert register_state(web_settings) == before


def test_committing_stores_exactly_the_preview_in_the_persons_name(
    signed_in: FlaskClient, web_settings: Settings
) -> None:
    preview = upload(signed_in, changed_and_new())
    done = commit(signed_in, preview)
    assert done.status_code == 200
    assert "The import is saved: 1 device created, 1 updated, 1 unchanged." in text_of(done)
    with db.connect(web_settings) as conn:
        assert devices.get_device(conn, "camden-aq-0002") is not None
        first = devices.get_device(conn, "camden-aq-0001")
        events = conn.execute(
            "SELECT actor, action, note FROM audit_events WHERE note = 'import' ORDER BY id"
        ).fetchall()
    assert first is not None and first["name"] == "Kerbside air monitor"
    assert events == [
        ("ada <ada@camden.gov.uk>", "update", "import"),
        ("ada <ada@camden.gov.uk>", "create", "import"),
    ]


def test_a_register_changed_since_the_preview_shows_the_new_preview_and_stores_nothing(
    signed_in: FlaskClient, web_settings: Settings
) -> None:
    preview = upload(signed_in, changed_and_new())
    with db.connect(web_settings) as conn, conn.transaction():
        devices.update_device(
            conn, "camden-aq-0003", device_entry("camden-aq-0003", place="Camden Road"), ADMIN
        )
    before = register_state(web_settings)
    again = commit(signed_in, preview)
    assert again.status_code == 409
    text = text_of(again)
    assert "The register changed since your preview, so nothing was imported" in text
    assert "would create 1, update 2 and leave unchanged 0 devices" in text
    assert "place Camden Road lamp post 42, Camden High Street" in text
    assert register_state(web_settings) == before
    # The new preview commits as it now says.
    assert commit(signed_in, again).status_code == 200
    with db.connect(web_settings) as conn:
        third = devices.get_device(conn, "camden-aq-0003")
    assert third is not None and third["place"] == "lamp post 42, Camden High Street"


def test_entries_of_another_organisation_are_each_refused_with_403_and_nothing_changes(
    signed_in: FlaskClient, web_settings: Settings
) -> None:
    before = register_state(web_settings)
    claimed = device_entry("hackney-aq-0001", name="Taken over")  # Hackney's device, as Camden's
    theirs = device_entry("hackney-aq-0002", organisation="hackney")
    refused = upload(signed_in, devices_file(device_entry("camden-aq-0002"), claimed, theirs))
    text = refused_as_anothers(refused, 403, "2 problems")
    assert "device 2, public_id: device hackney-aq-0001 belongs to another organisation" in text
    assert "device 3, organisation: you may only change entries of your own organisation" in text
    assert register_state(web_settings) == before
    # Nor can a commit be made up for such a file.
    file = {"file": base64.b64encode(devices_file(theirs)).decode()}
    forged = commit(
        signed_in, upload(signed_in, devices_file(device_entry("camden-aq-0002"))), **file
    )
    assert forged.status_code == 403
    assert register_state(web_settings) == before


def test_invalid_entries_are_each_reported_by_place_and_field_and_nothing_is_stored(
    signed_in: FlaskClient, web_settings: Settings
) -> None:
    before = register_state(web_settings)
    bad_metric = device_entry("camden-aq-0002")
    bad_metric["metrics"][1]["unit"] = "furlongs"
    files = {
        "devices.json": devices_file(
            device_entry("camden-aq-0004", latitude=95), bad_metric, "not a device"
        ),
        "devices.csv": (
            b"public_id,organisation,name,status,latitude,longitude,place,metric_key\n"
            b"camden-aq-0005,camden,A monitor,active,51.5,-0.14,Somewhere,no2\n"
        ),
    }
    json_answer = upload(signed_in, files["devices.json"])
    assert json_answer.status_code == 422
    text = text_of(json_answer)
    assert "3 problems: nothing can be imported" in text
    assert "device 1, latitude:" in text
    assert "device 2, metrics[1].unit:" in text
    assert "device 3, entry: must be an object of fields" in text
    csv_answer = upload(signed_in, files["devices.csv"], "devices.csv")
    assert csv_answer.status_code == 422
    assert "line 2, metric_unit:" in text_of(csv_answer)
    assert register_state(web_settings) == before


@dataclass(frozen=True)
class BadFile:
    content: bytes | None
    filename: str
    fmt: str
    status: int
    field: str
    message: str


# A cell over the csv module's limit of 131,072 characters.
HUGE_CELL = (",".join(exports.DEVICE_COLUMNS) + '\n"' + "x" * 140_000 + '"\n').encode()
# A NUL escaped in a JSON string, which PostgreSQL text cannot hold.
NUL_IN_NAME = json.dumps([device_entry("camden-aq-0007", name="a\u0000b")]).encode()

BAD_FILES = [
    BadFile(None, "", "", 400, "file", "choose a file to import"),
    BadFile(b"", "devices.json", "", 400, "file", "devices.json is empty"),
    BadFile(b"{}", "devices.txt", "", 400, "format", "cannot tell the format of devices.txt"),
    BadFile(b"{}", "devices.json", "xml", 400, "format", "choose CSV, JSON, GeoJSON"),
    BadFile(b'{"devices": [', "devices.json", "", 400, "file", "not valid JSON"),
    BadFile(b"\xff\xfe\x00x", "devices.json", "", 400, "file", "is not text in UTF-8"),
    BadFile(
        b"colour,size\nred,1\n", "devices.csv", "", 400, "file", "unknown CSV column(s): colour"
    ),
    BadFile(b'{"type": "Feature"}', "d.geojson", "", 400, "file", "expected a GeoJSON Feature"),
    BadFile(b'{"devices": []}', "devices.json", "", 400, "file", "the file holds no devices"),
    # Files that crashed the preview (500) before the register's reader refused them:
    BadFile(HUGE_CELL, "devices.csv", "", 400, "file", "at line 2: field larger than field limit"),
    BadFile(b"public_id\ncamden-\x00\n", "devices.csv", "", 400, "file", "line 2 holds a NUL"),
    BadFile(NUL_IN_NAME, "devices.json", "", 400, "file", "a string holds a NUL character"),
    BadFile(b"[" * 100_000 + b"]" * 100_000, "deep.json", "", 400, "file", "depth limit exceeded"),
    BadFile(
        b'[{"latitude": ' + b"9" * 5000 + b"}]", "n.json", "", 400, "file", "number is infinity"
    ),
    BadFile(b"x" * (MAX_FILE_BYTES + 1), "big.json", "", 413, "file", "larger than 5 MB"),
    BadFile(b"x" * (MAX_FILE_BYTES * 2), "bigger.json", "", 413, "file", "larger than 5 MB"),
]


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda bad: bad.message)
def test_a_file_that_cannot_be_read_is_refused_with_its_reason_by_its_field(
    signed_in: FlaskClient, web_settings: Settings, bad: BadFile
) -> None:
    before = register_state(web_settings)
    refused = upload(signed_in, bad.content, bad.filename, bad.fmt)
    refused_by_field(refused, bad.status, bad.field, bad.message)
    assert register_state(web_settings) == before


def test_a_commit_whose_file_did_not_come_back_intact_is_refused(
    signed_in: FlaskClient, web_settings: Settings
) -> None:
    preview = upload(signed_in, changed_and_new())
    before = register_state(web_settings)
    for changed in ({"file": "not base64!"}, {"format": "xml"}, {"file": "e30="}):
        refused = commit(signed_in, preview, **changed)
        assert refused.status_code == 400
        assert "did not come back intact" in text_of(refused)
    assert register_state(web_settings) == before


def test_the_import_needs_a_signed_in_person_and_its_form_token(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    assert client.get("/console/import").headers["Location"].startswith("/console/login")
    sign_in(client, engineer)
    before = register_state(web_settings)
    body = multipart({}, (devices_file(device_entry("camden-aq-0002")), "d.json"))
    refused = post_multipart(client, "/console/import", body)
    assert refused.status_code == 403
    assert register_state(web_settings) == before


def downloaded_register(client: FlaskClient, **renamed: str) -> bytes:
    """The register's JSON download, as anyone gets it, with each device of `renamed` (public
    id: new name) renamed, as a person edits it before importing it."""
    document = json.loads(client.get("/register.json").get_data())
    for entry in document["devices"]:
        entry["name"] = renamed.get(entry["public_id"], entry["name"])
    return json.dumps(document).encode()


def organisation_rows(settings: Settings, organisation: str) -> list[Any]:
    with db.connect(settings) as conn:
        return rows_of(conn, organisation)


def refused_as_anothers(answer: TestResponse, status: int, problems: str) -> str:
    """The text of a preview refused because the file writes to another organisation's
    devices (`problems`: its count, "1 problem" or "2 problems"), which offers no commit."""
    assert answer.status_code == status
    text = text_of(answer)
    assert f"{problems}: nothing can be imported" in text
    assert "The file would change or add devices of another organisation" in text
    assert "Commit this import" not in text
    return text


def test_the_whole_register_downloaded_imports_ones_own_change_and_leaves_others_alone(
    signed_in: FlaskClient, web_settings: Settings
) -> None:
    hackney = organisation_rows(web_settings, "hackney")
    preview = upload(signed_in, downloaded_register(signed_in, **{"camden-aq-0001": "Kerbside"}))
    assert preview.status_code == 200
    text = text_of(preview)
    assert "would create 0, update 1 and leave unchanged 1 device" in text
    assert "It also holds 1 device of other organisations, exactly as the register" in text
    done = commit(signed_in, preview)
    assert done.status_code == 200
    assert "1 updated, 1 unchanged; 1 device of other organisations left alone." in text_of(done)
    with db.connect(web_settings) as conn:
        first = devices.get_device(conn, "camden-aq-0001")
    assert first is not None and first["name"] == "Kerbside"
    assert organisation_rows(web_settings, "hackney") == hackney


def test_a_downloaded_register_changing_another_organisations_device_is_403(
    signed_in: FlaskClient, web_settings: Settings
) -> None:
    before = register_state(web_settings)
    changed = {"camden-aq-0001": "Kerbside", "hackney-aq-0001": "Taken over"}
    refused = upload(signed_in, downloaded_register(signed_in, **changed))
    text = refused_as_anothers(refused, 403, "1 problem")
    assert (
        "device 3, name: device hackney-aq-0001 is hackney's, and the file changes its name" in text
    )
    assert register_state(web_settings) == before
    # Nor can a commit be made up for it from the preview of another file: a 403, not a 409.
    preview = upload(signed_in, downloaded_register(signed_in, **{"camden-aq-0001": "Kerbside"}))
    file = base64.b64encode(downloaded_register(signed_in, **changed)).decode()
    forged = commit(signed_in, preview, file=file)
    assert "The register changed since" not in refused_as_anothers(forged, 403, "1 problem")
    assert register_state(web_settings) == before


def test_a_commit_after_another_organisation_changed_a_device_left_alone_is_409(
    signed_in: FlaskClient, web_settings: Settings
) -> None:
    preview = upload(signed_in, downloaded_register(signed_in, **{"camden-aq-0001": "Kerbside"}))
    assert preview.status_code == 200
    with db.connect(web_settings) as conn, conn.transaction():
        devices.update_device(
            conn,
            "hackney-aq-0001",
            device_entry("hackney-aq-0001", organisation="hackney", name="Renamed by Hackney"),
            ADMIN,
        )
    before = register_state(web_settings)
    stale = commit(signed_in, preview)
    text = refused_as_anothers(stale, 409, "1 problem")
    assert "The register changed since your preview, so nothing was imported" in text
    assert (
        "device 3, name: device hackney-aq-0001 is hackney's, and the file changes its name" in text
    )
    assert register_state(web_settings) == before

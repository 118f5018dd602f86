"""The whole path, through the real broker and ingester: a device that stops publishing shows
"not reporting" on its page after `jobs.silence_factor` of its intervals, and stops showing it as
soon as it publishes again, before the job runs again."""

from __future__ import annotations

import dataclasses
import time

from flask.testing import FlaskClient

from ingest.service import Ingester
from register import devices
from register.jobs.silence import mark_silent
from register.platform import db
from register.platform.config import Settings
from tests.ingest.conftest import count, publish, wait_until
from tests.ingest.test_ingest import native_message
from tests.register.factories import ADMIN
from web.app import create_app
from web.database import EXTENSION

# A device that says it reports every second is overdue after two seconds of silence.
INTERVAL = "PT1S"
FACTOR = 2.0


def page_of(client: FlaskClient) -> str:
    answer = client.get("/devices/camden-aq-0001")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_a_device_that_stops_publishing_is_not_reporting_until_it_publishes_again(
    ingest_settings: Settings, prefix: str
) -> None:
    settings = dataclasses.replace(
        ingest_settings, jobs=dataclasses.replace(ingest_settings.jobs, silence_factor=FACTOR)
    )
    with db.connect(settings) as conn, conn.transaction():
        entry = devices.get_device(conn, "camden-aq-0001")
        assert entry is not None
        devices.update_device(
            conn, "camden-aq-0001", {**entry, "reporting_interval": INTERVAL}, ADMIN
        )
    ingester = Ingester(settings)
    ingester.start()
    app = create_app(settings)
    app.config["TESTING"] = True
    client = app.test_client()
    try:
        wait_until(ingester.cache.loaded.is_set, what="the register to load")
        wait_until(
            lambda: all(s.subscribed.is_set() for s in ingester.sources.values()),
            what="the subscriptions",
        )
        publish(settings, [native_message(prefix, {"no2": 21.5})])
        wait_until(
            lambda: count(settings, "SELECT count(*) FROM device_activity") == 1,
            what="the device to be heard",
        )
        with db.connect(settings) as conn:
            assert mark_silent(conn, settings).rows == 0  # heard just now

            # It stops: after FACTOR intervals (and a margin), the job marks it.
            time.sleep(FACTOR + 0.5)
            assert mark_silent(conn, settings).summary == "1 device marked not reporting"
        html = page_of(client)
        assert "<strong>Not reporting</strong> since" in html
        assert "it is expected every second." in html

        # It publishes again: within the ingester's last-seen interval the page no longer says
        # so, without the job running again.
        publish(settings, [native_message(prefix, {"no2": 21.5})])
        wait_until(lambda: "Not reporting" not in page_of(client), what="the page to recover")
        assert count(settings, "SELECT count(*) FROM device_silence") == 1
        with db.connect(settings) as conn:
            assert mark_silent(conn, settings).summary == "1 device recovered"
        assert count(settings, "SELECT count(*) FROM device_silence") == 0
    finally:
        ingester.stop()
        app.extensions[EXTENSION].close()

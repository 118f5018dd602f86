"""Two changes at once on real connections: the test's own, left open, and a second one in a
thread that must wait for it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg

from register.platform import db
from register.platform.config import Settings
from tests.conftest import wait_until

SECOND = "second-change"


def second_waits_for_first(
    settings: Settings, first: psycopg.Connection[Any], change: Callable[[Any], None]
) -> list[Exception]:
    """Run `change(connection)` on a second connection while `first` holds its uncommitted
    change; once the second is waiting on a lock, commit `first`. What the second raised."""
    raised: list[Exception] = []

    def run_second() -> None:
        with db.connect(settings, application_name=SECOND) as second:
            try:
                change(second)
            except Exception as error:
                raised.append(error)

    thread = threading.Thread(target=run_second)
    thread.start()
    with psycopg.connect(settings.database_url, autocommit=True) as watcher:
        wait_until(
            lambda: watcher.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = %s"
                " AND wait_event_type = 'Lock'",
                (SECOND,),
            ).fetchone(),
            what="the second change waiting on the first's",
        )
    first.commit()
    thread.join(timeout=15)
    assert not thread.is_alive()
    return raised

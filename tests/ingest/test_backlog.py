"""The bounded queue between the MQTT callbacks and the writer."""

from __future__ import annotations

import threading
import time

from ingest.backlog import Backlog
from ingest.messages import Message


def message(n: int) -> list[Message]:
    """What one socket read of a single message puts."""
    return [Message("test", "t", b"{}", n, 1, n)]


def test_take_returns_a_full_batch_at_once_or_what_there_is_after_the_wait() -> None:
    backlog = Backlog(limit=100)
    backlog.put([*message(0), *message(1)])
    for n in range(2, 5):
        backlog.put(message(n))
    assert [m.mid for m in backlog.take(3, wait=10)] == [0, 1, 2]
    started = time.monotonic()
    assert [m.mid for m in backlog.take(3, wait=0.2)] == [3, 4]
    assert time.monotonic() - started >= 0.2
    assert backlog.take(3, wait=0.01) == []


def test_put_waits_while_the_backlog_is_full_and_resumes_when_the_writer_takes() -> None:
    backlog = Backlog(limit=2)
    backlog.put(message(1))
    backlog.put(message(2))
    third_in = threading.Event()

    def producer() -> None:
        backlog.put(message(3))
        third_in.set()

    threading.Thread(target=producer, daemon=True).start()
    assert not third_in.wait(0.3), "a full backlog must not take more"
    assert len(backlog) == 2
    assert [m.mid for m in backlog.take(1, wait=1)] == [1]
    assert third_in.wait(2)
    assert [m.mid for m in backlog.take(5, wait=0.05)] == [2, 3]


def test_closing_releases_a_waiting_producer_and_refuses_more() -> None:
    backlog = Backlog(limit=1)
    backlog.put(message(1))
    results: list[bool] = []
    producer = threading.Thread(target=lambda: results.append(backlog.put(message(2))))
    producer.start()
    time.sleep(0.1)
    backlog.close()
    producer.join(2)
    assert results == [False]
    assert backlog.put(message(3)) is False
    assert len(backlog) == 1


def test_a_socket_read_goes_in_whole_even_past_the_limit_and_then_the_next_waits() -> None:
    backlog = Backlog(limit=2)
    assert backlog.put([*message(1), *message(2), *message(3)])
    assert len(backlog) == 3
    fourth_in = threading.Event()
    threading.Thread(target=lambda: fourth_in.set() if backlog.put(message(4)) else None).start()
    assert not fourth_in.wait(0.3), "a backlog at its limit must not take more"
    assert [m.mid for m in backlog.take(2, wait=1)] == [1, 2]
    assert fourth_in.wait(2)
    assert [m.mid for m in backlog.take(5, wait=0.05)] == [3, 4]

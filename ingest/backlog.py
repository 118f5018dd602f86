"""The bounded queue between the MQTT network threads and the writer's checker thread.

`put` is all the MQTT network thread does, once per socket read. When the queue holds `limit`
messages, `put` waits: the network loop stops reading, the broker stops sending (it already
holds at most the client's Receive Maximum unacknowledged), and the backlog stays at the broker
instead of in memory.
A deque under one lock is used rather than `queue.Queue`, which costs visibly per message.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from ingest.messages import Message


class Backlog:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: deque[Message] = deque()
        self._lock = threading.Lock()
        self._not_full = threading.Condition(self._lock)
        self._enough = threading.Condition(self._lock)
        self._batch_size = 1
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, messages: list[Message]) -> bool:
        """Add messages, waiting while the queue is full; False once the queue is closed.

        They are added all at once, so the queue may go past `limit` by one socket read's worth;
        the broker's Receive Maximum still bounds what is unacknowledged.
        """
        with self._lock:
            while len(self._items) >= self.limit and not self.closed:
                self._not_full.wait(0.5)
            if self.closed:
                return False
            self._items.extend(messages)
            if len(self._items) >= self._batch_size:
                self._enough.notify()
            return True

    def take(self, batch_size: int, wait: float) -> list[Message]:
        """Up to `batch_size` messages: as soon as that many are queued, or after `wait` seconds
        with whatever has arrived (possibly none)."""
        deadline = time.monotonic() + wait
        with self._lock:
            self._batch_size = batch_size
            while len(self._items) < batch_size and not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._enough.wait(remaining)
            items = self._items
            count = min(batch_size, len(items))
            batch = [items.popleft() for _ in range(count)]
            if count:
                self._not_full.notify_all()
            return batch

    def close(self) -> None:
        """Refuse further messages and wake everyone waiting."""
        with self._lock:
            self.closed = True
            self._not_full.notify_all()
            self._enough.notify_all()

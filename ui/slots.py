"""A bounded set of work slots, handed out in order of arrival.

A plain semaphore lets whichever waiting thread wakes first take a freed slot, so with eight
users queued every user's calls interleave (each user's panel needs several calls) and they
all finish near the end, together. Handing a free slot to the request that has waited
longest — the session whose run started first — finishes the first user's panel first and
the others in turn: the same total work, the same last answer, and every earlier answer
sooner (first come, first served, as a queue at a desk).
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

LAST = float("inf")  # the key of work that should wait for every user (the warm-up)


class Slots:
    """``n`` slots; a free slot goes to the waiter with the smallest key (ties: who asked first)."""

    def __init__(self, n: int):
        if n < 1:
            raise ValueError(f"need at least one slot; got {n}")
        self.n = n
        self._free = n
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int]] = []  # a heap of the waiters' (key, arrival) tickets
        self._arrivals = itertools.count()

    @property
    def free(self) -> int:
        """Slots not held now."""
        return self._free

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def acquire(self, key: float = LAST, timeout: float | None = None) -> bool:
        """Take a slot when one is free and no waiter with a smaller key is ahead.

        Returns False when ``timeout`` seconds pass first; the caller then leaves the queue
        (and may come back with the same key, keeping its place among the keys).
        """
        ticket = (float(key), next(self._arrivals))
        with self._cond:
            heapq.heappush(self._queue, ticket)
            try:
                granted = self._cond.wait_for(lambda: self._free > 0 and self._queue[0] == ticket, timeout)
            except BaseException:
                self._leave(ticket)
                raise
            if not granted:
                self._leave(ticket)
                return False
            heapq.heappop(self._queue)
            self._free -= 1
            self._cond.notify_all()  # the next in line may find a free slot too
            return True

    def _leave(self, ticket: tuple[float, int]) -> None:
        self._queue.remove(ticket)
        heapq.heapify(self._queue)
        self._cond.notify_all()  # the waiter behind may now be first

    def release(self) -> None:
        with self._cond:
            if self._free >= self.n:
                raise ValueError("a slot was released more often than taken")
            self._free += 1
            self._cond.notify_all()

    @contextmanager
    def slot(self, key: float = LAST) -> Iterator[None]:
        """Hold a slot for the block, waiting as long as it takes."""
        self.acquire(key)
        try:
            yield
        finally:
            self.release()

"""Work slots: bounded, and a freed slot goes to the earliest key, whatever thread wakes first."""

from __future__ import annotations

import threading
import time

import pytest

from ui.slots import LAST, Slots


def _queue_up(slots: Slots, keys: list[float], order: list[float]) -> list[threading.Thread]:
    def user(key: float) -> None:
        with slots.slot(key):
            order.append(key)

    threads = []
    for key in keys:
        t = threading.Thread(target=user, args=(key,))
        t.start()
        threads.append(t)
        deadline = time.monotonic() + 5
        while slots.waiting < len(threads) and time.monotonic() < deadline:  # queued in this order
            time.sleep(0.001)
    return threads


def test_a_freed_slot_goes_to_the_smallest_key_not_the_first_to_ask():
    slots = Slots(1)
    slots.acquire(0.0)  # the only slot is busy while the others queue
    order: list[float] = []
    threads = _queue_up(slots, [5.0, LAST, 3.0, 1.0, 4.0, 2.0], order)
    assert slots.waiting == 6
    slots.release()
    for t in threads:
        t.join(timeout=5)
    assert order == [1.0, 2.0, 3.0, 4.0, 5.0, LAST]
    assert slots.free == 1 and slots.waiting == 0


def test_equal_keys_are_served_in_order_of_asking():
    slots = Slots(1)
    slots.acquire(0.0)
    seen: list[str] = []

    def user(name: str) -> None:
        with slots.slot(7.0):
            seen.append(name)

    threads = []
    for name in "abc":
        t = threading.Thread(target=user, args=(name,))
        t.start()
        threads.append(t)
        while slots.waiting < len(threads):
            time.sleep(0.001)
    slots.release()
    for t in threads:
        t.join(timeout=5)
    assert seen == ["a", "b", "c"]


def test_no_more_than_n_holders_at_once_and_a_timeout_leaves_the_queue():
    slots = Slots(2)
    assert slots.acquire(1.0) and slots.acquire(2.0)
    assert slots.acquire(0.5, timeout=0.05) is False  # full, even for the smallest key
    assert slots.waiting == 0 and slots.free == 0
    slots.release()
    assert slots.acquire(3.0, timeout=0.05) is True
    slots.release()
    slots.release()
    assert slots.free == 2
    with pytest.raises(ValueError, match="released more often"):
        slots.release()
    with pytest.raises(ValueError, match="at least one"):
        Slots(0)


def test_a_waiter_that_gives_up_does_not_block_the_one_behind_it():
    slots = Slots(1)
    slots.acquire(0.0)
    got: list[bool] = []
    behind = threading.Thread(target=lambda: got.append(slots.acquire(9.0, timeout=5)))
    ahead_gave_up = threading.Thread(target=lambda: slots.acquire(1.0, timeout=0.1))
    ahead_gave_up.start()
    while slots.waiting < 1:
        time.sleep(0.001)
    behind.start()
    ahead_gave_up.join()
    slots.release()
    behind.join(timeout=5)
    assert got == [True]

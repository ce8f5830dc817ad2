"""ticklock.py: the tick lock is free exactly while the tick thread waits in poll; callers that find it
free append their own entries, and concurrent clients still share entries."""
from __future__ import annotations

import os
import threading

import pytest
from pysyncobj.poller import POLL_EVENT_TYPE

from kvstore.replication.ticklock import TickLockPoller

from .support import WAIT, wait_until

pytestmark = pytest.mark.timeout(60)


def _dispatches_by_thread(poller: TickLockPoller, read_end: int) -> tuple[list[str], threading.Semaphore]:
    """Subscribe `read_end` so that each dispatch reads one byte, records the name of the thread that
    dispatched it, and releases the returned semaphore."""
    seen: list[str] = []
    dispatched = threading.Semaphore(0)

    def on_readable(descr: int, event: int) -> None:
        os.read(descr, 1)
        seen.append(threading.current_thread().name)
        dispatched.release()

    poller.subscribe(read_end, on_readable, POLL_EVENT_TYPE.READ)
    return seen, dispatched


def _wake_join_and_close(poller: TickLockPoller, threads: list[threading.Thread], read_end: int,
                         write_end: int) -> None:
    # a byte for each thread that may still wait in poll, so every join ends long before its bound
    os.write(write_end, b"xx")
    for thread in threads:
        thread.join(15)
    poller.close()
    os.close(read_end)
    os.close(write_end)


def test_the_lock_is_released_while_waiting_and_held_while_dispatching() -> None:
    lock = threading.Lock()
    poller = TickLockPoller(lock)
    read_end, write_end = os.pipe()
    seen: list[bool] = []

    def on_readable(descr: int, event: int) -> None:
        os.read(descr, 1)
        seen.append(lock.locked() and bool(event & POLL_EVENT_TYPE.READ))

    poller.subscribe(read_end, on_readable, POLL_EVENT_TYPE.READ)
    entered, done = threading.Event(), threading.Event()

    def tick() -> None:
        with lock:
            entered.set()
            poller.poll(5.0)
            done.set()

    thread = threading.Thread(target=tick)
    lock_taken_while_waiting = False
    try:
        thread.start()
        assert entered.wait(5)
        wait_until(lambda: lock.acquire(blocking=False), WAIT, "the lock to be free during the wait")
        lock_taken_while_waiting = True
        os.write(write_end, b"x")  # the event arrives while this thread holds the lock
        assert not done.wait(0.2)  # so the tick thread cannot dispatch it yet
        lock.release()
        assert done.wait(5)
    finally:
        if lock.locked() and not done.is_set() and lock_taken_while_waiting:
            lock.release()
        os.write(write_end, b"x")
        thread.join(5)
        os.close(read_end)
        os.close(write_end)
    assert seen == [True]


def test_an_event_for_a_descriptor_unsubscribed_meanwhile_is_skipped() -> None:
    lock = threading.Lock()
    poller = TickLockPoller(lock)
    read_end, write_end = os.pipe()
    poller.subscribe(read_end, lambda descr, event: pytest.fail("dispatched after unsubscribe"),
                     POLL_EVENT_TYPE.READ)
    os.write(write_end, b"x")
    poller._callbacks.pop(read_end)  # what unsubscribing from another thread leaves
    with lock:
        poller.poll(0.5)
    os.close(read_end)
    os.close(write_end)


def test_ready_descriptors_are_dispatched_one_per_call_in_turn() -> None:
    lock = threading.Lock()
    poller = TickLockPoller(lock)
    pipes = [os.pipe() for _ in range(3)]
    order: list[int] = []
    try:
        for number, (read_end, _write_end) in enumerate(pipes):
            poller.subscribe(read_end, lambda descr, event, number=number: (os.read(descr, 1), order.append(number)),
                             POLL_EVENT_TYPE.READ)
        for _read_end, write_end in pipes:
            os.write(write_end, b"x")
        with lock:
            for calls in range(1, 4):
                poller.poll(1.0)
                assert len(order) == calls  # one descriptor per call: the tick after it acts on it
            poller.unsubscribe(pipes[0][0])
            os.write(pipes[0][1], b"x")  # ready again, but no longer subscribed
            os.write(pipes[1][1], b"x")
            poller.poll(1.0)
        assert sorted(order[:3]) == [0, 1, 2] and order[3:] == [1]
    finally:
        for read_end, write_end in pipes:
            os.close(read_end)
            os.close(write_end)


def test_an_event_is_dispatched_by_one_of_two_waiting_threads_and_the_descriptor_is_rearmed() -> None:
    # A caller waiting for its acknowledgement and the tick thread wait on the same poller: each
    # event must be handled by exactly one of them (one-shot), and watched again afterwards.
    lock = threading.Lock()
    poller = TickLockPoller(lock)
    read_end, write_end = os.pipe()
    seen, dispatched = _dispatches_by_thread(poller, read_end)
    waiting = threading.Semaphore(0)

    def wait_once() -> None:
        with lock:
            waiting.release()
            poller.poll(10.0)

    threads = [threading.Thread(target=wait_once, name=f"waiter{i}") for i in range(2)]
    try:
        for thread in threads:
            thread.start()
            assert waiting.acquire(timeout=5)
        wait_until(lambda: not lock.locked(), WAIT, "both threads to wait without the lock")
        os.write(write_end, b"x")
        assert dispatched.acquire(timeout=5)
        assert not dispatched.acquire(timeout=0.3)  # the other waiter did not get the same event
        os.write(write_end, b"x")  # re-armed: the thread still waiting gets this one
        assert dispatched.acquire(timeout=5)
    finally:
        _wake_join_and_close(poller, threads, read_end, write_end)
    assert sorted(seen) == ["waiter0", "waiter1"]


def test_poll_returns_at_once_for_a_thread_whose_wait_is_over() -> None:
    lock = threading.Lock()
    poller = TickLockPoller(lock)
    read_end, write_end = os.pipe()
    seen: list[int] = []
    poller.subscribe(read_end, lambda descr, event: seen.append(os.read(descr, 1)[0]), POLL_EVENT_TYPE.READ)
    os.write(write_end, b"x")
    try:
        with lock:
            poller.waiting_for.stop = lambda: True
            poller.poll(5.0)  # neither waits nor dispatches: the caller has its answer
            assert seen == []
            poller.waiting_for.stop = None
            poller.poll(5.0)  # another thread (here: the same, released) dispatches it later
        assert seen == [ord("x")]
    finally:
        poller.close()
        os.close(read_end)
        os.close(write_end)


def test_unsubscribing_a_closed_descriptor_is_quiet() -> None:
    # pysyncobj closes a connection's socket before it unsubscribes it; epoll has dropped it then.
    poller = TickLockPoller(threading.Lock())
    read_end, write_end = os.pipe()
    poller.subscribe(read_end, lambda descr, event: None, POLL_EVENT_TYPE.READ)
    os.close(read_end)
    poller.unsubscribe(read_end)
    os.close(write_end)
    poller.close()


def test_while_a_caller_waits_for_its_answer_the_tick_thread_stands_by() -> None:
    # The tick thread entering epoll_wait after a waiting caller would be woken first (epoll wakes
    # the latest waiter); it stands by instead, and resumes when the caller is done.
    lock = threading.Lock()
    poller = TickLockPoller(lock)
    read_end, write_end = os.pipe()
    seen, dispatched = _dispatches_by_thread(poller, read_end)
    answered = threading.Event()
    caller_waiting = threading.Event()

    def caller() -> None:
        with lock:
            poller.begin_wait(answered.is_set)
            caller_waiting.set()
            try:
                while not answered.is_set():
                    poller.poll(10.0)
                    answered.set()
            finally:
                poller.end_wait()

    def tick_thread() -> None:
        for _ in range(2):
            with lock:
                poller.poll(10.0)

    threads = [threading.Thread(target=caller, name="caller")]
    try:
        threads[0].start()
        assert caller_waiting.wait(5)
        wait_until(lambda: not lock.locked(), WAIT, "the caller to wait without the lock")
        threads.append(threading.Thread(target=tick_thread, name="tick"))
        threads[1].start()
        wait_until(lambda: poller._standing_by == 1, WAIT, "the tick thread to stand by")
        os.write(write_end, b"x")
        assert dispatched.acquire(timeout=5)
        threads[0].join(5)
        os.write(write_end, b"x")  # the caller is done: the tick thread waits in epoll again
        assert dispatched.acquire(timeout=5)
    finally:
        answered.set()
        _wake_join_and_close(poller, threads, read_end, write_end)
    assert seen[:2] == ["caller", "tick"]


def test_the_tick_thread_waits_on_after_a_quiet_dispatch_within_the_same_timeout() -> None:
    lock = threading.Lock()
    poller = TickLockPoller(lock)
    quiet_end, quiet_in = os.pipe()
    loud_end, loud_in = os.pipe()
    seen: list[str] = []

    def on_quiet(descr: int, _event: int) -> None:
        os.read(descr, 1)
        seen.append("quiet")
        poller.quiet = True  # e.g. a late acknowledgement: the tick after it has nothing to do

    def on_loud(descr: int, _event: int) -> None:
        os.read(descr, 1)
        seen.append("loud")  # says nothing: the tick must run

    poller.subscribe(quiet_end, on_quiet, POLL_EVENT_TYPE.READ)
    poller.subscribe(loud_end, on_loud, POLL_EVENT_TYPE.READ)
    try:
        os.write(quiet_in, b"x")
        with lock:
            poller.poll(0.3)  # the quiet event, then waits on until the timeout ends
        assert seen == ["quiet"]
        os.write(quiet_in, b"x")
        threading.Timer(0.05, lambda: os.write(loud_in, b"x")).start()
        with lock:
            poller.poll(5.0)  # the quiet event, then the loud one ends the poll long before 5 s
        assert seen == ["quiet", "quiet", "loud"]
        poller.waiting_for.stop = lambda: False  # a caller waiting for its answer returns after each dispatch
        os.write(quiet_in, b"x")
        with lock:
            poller.poll(5.0)
        assert seen == ["quiet", "quiet", "loud", "quiet"]
    finally:
        poller.waiting_for.stop = None
        for descr in (quiet_end, quiet_in, loud_end, loud_in):
            os.close(descr)
        poller.close()

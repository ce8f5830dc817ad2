"""Watch: live events, history replay, filters, prev_kv, progress, slow consumers, compaction, callbacks."""
from __future__ import annotations

import asyncio
import contextlib
import threading

import pytest

import kvstore
from kvstore import EventType, Op, WatchFilter

WAIT = 30.0  # every wait is bounded; generous, because a loaded machine delays threads, and a passing
# test never waits for it to run out


def take(watcher, count):
    events = []
    for _ in range(count):
        event = watcher.get(WAIT)
        assert event is not None, f"only {len(events)} of {count} events arrived"
        events.append(event)
    return events


def summary(events):
    return [(e.type, e.kv.key, e.kv.value, e.kv.mod_revision) for e in events]


@contextlib.contextmanager
def _slow_consumer(clock):
    """A store whose watcher of prefix k (a queue of 4) read nothing while 200 puts went by: values
    b"0".. b"199" at revisions 2..201, over seven keys."""
    with kvstore.open(clock=clock, watch_queue_size=4) as store:
        watcher = store.watch(b"k", prefix=True)
        for number in range(200):
            store.put(b"k%03d" % (number % 7), b"%d" % number)
        yield store, watcher


@contextlib.contextmanager
def _behind_a_compaction(clock):
    """A watcher of k with a queue of 2 that read nothing while b"0".. b"9" were put, then the store
    compacted at revision 8."""
    with kvstore.open(clock=clock, watch_queue_size=2) as store:
        watcher = store.watch(b"k")
        for number in range(10):
            store.put(b"k", b"%d" % number)
        store.compact(8)
        yield watcher


def test_a_key_watcher_sees_puts_and_deletes_of_that_key_only(store):
    with store.watch(b"k") as watcher:
        store.put(b"k", b"1")
        store.put(b"other", b"x")
        store.delete(b"k")
        assert summary(take(watcher, 2)) == [(EventType.PUT, b"k", b"1", 2), (EventType.DELETE, b"k", b"", 4)]
        assert watcher.get(0.05) is None


def test_prefix_and_range_watchers(store):
    prefix = store.watch(b"p/", prefix=True)
    ranged = store.watch(b"a", b"c")
    everything = store.watch(b"\0", b"\0")
    for key in (b"p/1", b"b", b"c", b"p"):
        store.put(key, b"v")
    assert [e.kv.key for e in take(prefix, 1)] == [b"p/1"]
    assert [e.kv.key for e in take(ranged, 1)] == [b"b"]
    assert [e.kv.key for e in take(everything, 4)] == [b"p/1", b"b", b"c", b"p"]
    for watcher in (prefix, ranged, everything):
        assert watcher.get(0.05) is None
        watcher.cancel()


def test_start_revision_replays_history_then_goes_live(store):
    for value in (b"1", b"2", b"3"):
        store.put(b"k", value)
    with store.watch(b"k", start_revision=3) as watcher:
        store.put(b"k", b"4")
        assert [e.kv.value for e in take(watcher, 3)] == [b"2", b"3", b"4"]


def test_a_txn_arrives_as_one_response_in_op_order(store):
    with store.watch(b"", prefix=True) as watcher:
        store.txn([], [Op.put(b"b", b"1"), Op.put(b"a", b"1"), Op.delete(b"zz")])
        response = next(watcher.responses(WAIT))
        assert [e.kv.key for e in response.events] == [b"b", b"a"] and response.revision == 2


def test_filters_drop_puts_or_deletes(store):
    no_put = store.watch(b"k", filters=[WatchFilter.NOPUT])
    no_delete = store.watch(b"k", filters=[WatchFilter.NODELETE])
    store.put(b"k", b"1")
    store.delete(b"k")
    assert [e.type for e in take(no_put, 1)] == [EventType.DELETE]
    assert [e.type for e in take(no_delete, 1)] == [EventType.PUT]
    assert no_put.get(0.05) is None and no_delete.get(0.05) is None
    no_put.cancel()
    no_delete.cancel()


def test_prev_kv_only_when_asked(store):
    store.put(b"k", b"1")
    with_prev = store.watch(b"k", prev_kv=True)
    without = store.watch(b"k", start_revision=2)
    store.put(b"k", b"2")
    store.delete(b"k")
    put, delete = take(with_prev, 2)
    assert put.prev_kv.value == b"1" and delete.prev_kv.value == b"2"
    assert all(event.prev_kv is None for event in take(without, 3))
    with_prev.cancel()
    without.cancel()


def test_progress_notifications_carry_the_store_revision(store):
    store.put(b"x", b"1")
    watcher = store.watch(b"k", progress_notify=True)
    quiet = store.watch(b"k")
    store.request_progress()
    response = next(watcher.responses(WAIT))
    assert response.progress_notify and response.events == () and response.revision == 2
    assert next(quiet.responses(0.05), None) is None
    watcher.request_progress()
    assert next(watcher.responses(WAIT)).revision == 2
    watcher.cancel()
    quiet.cancel()


def test_a_future_start_revision_waits_for_it(store):
    with store.watch(b"k", start_revision=4) as watcher:
        for value in (b"1", b"2", b"3"):
            store.put(b"k", value)
        store.put(b"k", b"4")
        assert [e.kv.mod_revision for e in take(watcher, 2)] == [4, 5]


def test_a_slow_consumer_never_blocks_writers_and_still_sees_every_event_once(clock):
    with _slow_consumer(clock) as (store, watcher):
        events = take(watcher, 200)
        assert [e.kv.value for e in events] == [b"%d" % n for n in range(200)]
        assert [e.kv.mod_revision for e in events] == list(range(2, 202))
        store.put(b"k", b"live")
        assert take(watcher, 1)[0].kv.value == b"live"
        watcher.cancel()


def test_a_watcher_behind_a_compaction_ends_with_compacted(clock):
    with _behind_a_compaction(clock) as watcher:
        seen = []
        with pytest.raises(kvstore.Compacted) as raised:
            while True:
                seen.append(watcher.get(WAIT).kv.value)
        assert raised.value.compact_revision == 8
        assert seen == [b"0", b"1"]  # what was queued before it fell behind
        assert watcher.canceled


def test_a_start_revision_below_the_compact_revision_ends_with_compacted(store):
    for number in range(5):
        store.put(b"k", b"%d" % number)
    store.compact(4)
    with pytest.raises(kvstore.Compacted, match="start_revision=3"):
        list(store.watch(b"k", start_revision=3))
    with store.watch(b"k", start_revision=4) as watcher:  # the compact revision itself is still there
        assert [e.kv.mod_revision for e in take(watcher, 3)] == [4, 5, 6]


def test_callback_receives_every_event_in_order(store):
    received = []
    done = threading.Event()

    def callback(event):
        received.append(event)
        if len(received) == 3:
            done.set()

    watcher = store.watch(b"k", callback=callback)
    for value in (b"1", b"2", b"3"):
        store.put(b"k", value)
    assert done.wait(WAIT)
    watcher.cancel()
    assert [e.kv.value for e in received] == [b"1", b"2", b"3"]


def test_callback_is_told_about_compaction(clock):
    with kvstore.open(clock=clock) as store:
        for number in range(4):
            store.put(b"k", b"%d" % number)
        store.compact(4)
        errors = []
        done = threading.Event()
        watcher = store.watch(b"k", start_revision=2, callback=lambda item: (errors.append(item), done.set()))
        assert done.wait(WAIT)
        watcher.cancel()
        assert isinstance(errors[0], kvstore.Compacted)


def test_cancel_ends_iteration_and_drops_undelivered_events(store):
    watcher = store.watch(b"k")
    store.put(b"k", b"1")
    watcher.cancel()
    watcher.cancel()
    assert list(watcher) == []
    with pytest.raises(kvstore.WatchCanceled):
        watcher.get(0.05)


def test_iteration_blocks_until_an_event_and_stops_on_cancel(store, wait_for):
    watcher = store.watch(b"k")
    seen = []
    reader = threading.Thread(target=lambda: seen.extend(event.kv.value for event in watcher))
    reader.start()
    store.put(b"k", b"1")
    store.put(b"k", b"2")
    wait_for(lambda: len(seen) >= 2, "the reader to take both events")  # cancel drops undelivered ones
    watcher.cancel()
    reader.join(WAIT)
    assert not reader.is_alive() and seen == [b"1", b"2"]


def test_closing_the_store_ends_every_watcher(clock):
    store = kvstore.open(clock=clock)
    watcher = store.watch(b"k")
    store.close()
    assert list(watcher) == [] and watcher.canceled
    with pytest.raises(kvstore.StoreClosed):
        store.watch(b"k")


def test_async_iteration(store):
    async def consume():
        watcher = store.watch(b"k", start_revision=1)
        store.put(b"k", b"1")
        store.put(b"k", b"2")
        values = []
        async for event in watcher:
            values.append(event.kv.value)
            if len(values) == 2:
                watcher.cancel()
        return values

    assert asyncio.run(asyncio.wait_for(consume(), WAIT)) == [b"1", b"2"]


def test_a_thousand_watchers_each_get_their_own_key(store):
    watchers = [store.watch(b"key%04d" % n) for n in range(1000)]
    ranged = store.watch(b"key", prefix=True)
    for n in range(1000):
        store.put(b"key%04d" % n, b"%d" % n)
    for n in (0, 499, 999):
        assert [e.kv.value for e in take(watchers[n], 1)] == [b"%d" % n]
        assert watchers[n].get(0) is None
    assert len(take(ranged, 1000)) == 1000
    for watcher in (*watchers, ranged):
        watcher.cancel()


def test_watch_argument_errors(store):
    with pytest.raises(kvstore.InvalidArgument, match="start_revision=-1"):
        store.watch(b"k", start_revision=-1)
    with pytest.raises(kvstore.InvalidArgument, match="filters"):
        store.watch(b"k", filters=[9])
    with pytest.raises(kvstore.InvalidArgument, match="callback"):
        store.watch(b"k", callback=5)
    with pytest.raises(kvstore.EmptyKey):
        store.watch(b"")


def test_watchers_resync_when_the_state_is_replaced_by_a_snapshot(clock):
    with kvstore.open(clock=clock) as source, kvstore.open(clock=clock) as store:
        for number in range(5):
            source.put(b"k", b"%d" % number)  # revisions 2..6
        store.put(b"k", b"mine")  # revision 2 here
        watcher = store.watch(b"k")
        with store._lock:  # what a Raft snapshot install does: restore under the engine lock
            store._state.restore(source._state.snapshot())
        store.put(b"k", b"after")  # revision 7
        # the watcher had everything up to revision 2, then catches up from the new history
        assert [e.kv.value for e in take(watcher, 5)] == [b"1", b"2", b"3", b"4", b"after"]
        watcher.cancel()


def test_a_callback_that_raises_ends_its_watcher_only(store, capsys, wait_for):
    def callback(event):
        raise RuntimeError("boom")

    received = []
    done = threading.Event()
    failing = store.watch(b"k", callback=callback)
    healthy = store.watch(b"k", callback=lambda event: (received.append(event), done.set()))
    store.put(b"k", b"1")
    assert done.wait(WAIT)
    wait_for(lambda: failing.canceled, "the raising callback's watcher to end")
    assert not healthy.canceled
    assert "boom" in capsys.readouterr().err
    healthy.cancel()


@pytest.mark.embedded_only("a client's shared watch stream adds gRPC's own few threads; test_connect checks that "
                            "a thousand etcd watchers cost no more threads than one")
def test_a_thousand_callback_watchers_share_one_thread(store):
    seen = []
    lock = threading.Lock()
    done = threading.Event()

    def callback(event):
        with lock:
            seen.append(event.kv.value)
            if len(seen) == 2000:
                done.set()

    before = threading.active_count()
    watchers = [store.watch(b"k", callback=callback) for _ in range(1000)]
    store.put(b"k", b"1")
    store.put(b"k", b"2")
    assert done.wait(WAIT)
    assert threading.active_count() <= before + 1
    assert seen.count(b"1") == seen.count(b"2") == 1000
    for watcher in watchers:
        watcher.cancel()


def test_prev_kv_is_the_key_before_the_revision_as_etcd_reads_it(store):
    store.put(b"old", b"1")  # 2
    with store.watch(b"", prefix=True, prev_kv=True) as watcher:
        store.txn([], [Op.put(b"new", b"x"), Op.put(b"old", b"2"), Op.delete(b"a", b"\0")])  # 3
        events = take(watcher, 4)
    assert [(e.type.name, e.kv.key) for e in events] == [("PUT", b"new"), ("PUT", b"old"), ("DELETE", b"new"),
                                                         ("DELETE", b"old")]
    assert events[2].prev_kv is None  # created in the same txn: nothing at revision 2
    assert events[3].prev_kv.value == b"1"  # the value at revision 2, not the txn's own write


@pytest.mark.embedded_only("compares the embedded state machine's event log with a restored snapshot")
def test_a_restored_snapshot_keeps_the_prev_kv_of_a_txn_s_events(store):
    store.put(b"old", b"1")  # 2
    store.txn([], [Op.put(b"new", b"x"), Op.put(b"old", b"2"), Op.delete(b"a", b"\0")])  # 3
    restored = kvstore.StateMachine()
    restored.restore(store._state.snapshot())
    assert restored.events_since(3, 10)[0] == store._state.events_since(3, 10)[0]


def test_events_at_the_compact_revision_lose_prev_kv_as_in_etcd(store):
    store.put(b"k", b"1")  # 2
    store.put(b"k", b"2")  # 3
    store.put(b"k", b"3")  # 4
    store.compact(3)
    with store.watch(b"k", start_revision=3, prev_kv=True) as watcher:
        at_compact, after = take(watcher, 2)
    assert at_compact.prev_kv is None  # revision 2 is compacted: etcd cannot read it either
    assert after.prev_kv.value == b"2"


def test_next_response_takes_one_response_at_a_time_as_responses_yields_them(store):
    watcher = store.watch(b"k", prefix=True)
    store.put(b"k1", b"1")
    store.txn([], [Op.put(b"k2", b"2"), Op.put(b"k3", b"3")], [])
    store.put(b"k4", b"4")
    assert watcher.get(WAIT).kv.value == b"1"
    first = watcher.next_response(WAIT)
    assert [e.kv.key for e in first.events] == [b"k2", b"k3"] and first.revision == 3
    store.txn([], [Op.put(b"k5", b"5"), Op.put(b"k6", b"6")], [])
    assert watcher.get(WAIT).kv.key == b"k4"
    assert watcher.get(WAIT).kv.key == b"k5"
    leftover = watcher.next_response(WAIT)  # the rest of the response being iterated comes first
    assert [e.kv.key for e in leftover.events] == [b"k6"]
    assert watcher.next_response(0.05) is None
    watcher.cancel()
    assert watcher.next_response(0.05) is None


def test_a_consumer_waiting_in_next_response_is_woken_by_every_kind_of_write(store, wait_for):
    watcher = store.watch(b"w", prefix=True)
    got = []

    def read() -> None:
        while len(got) < 3:
            response = watcher.next_response(WAIT)
            if response is None:
                return
            got.extend(e.kv.key for e in response.events)

    reader = threading.Thread(target=read)
    reader.start()
    for write in (lambda: store.put(b"w1", b""), lambda: store.txn([], [Op.put(b"w2", b""), Op.delete(b"w1")], [])):
        before = len(got)
        write()  # the reader is (most likely) waiting: the write must wake it
        wait_for(lambda: len(got) > before, "the waiting reader to take the write")
    reader.join(WAIT)
    assert not reader.is_alive() and got == [b"w1", b"w2", b"w1"]
    watcher.cancel()


def test_next_responses_takes_every_queued_response_in_order(store):
    watcher = store.watch(b"k", prefix=True, progress_notify=True)
    assert watcher.next_responses(0.05) == []
    store.put(b"k1", b"1")
    store.txn([], [Op.put(b"k2", b"2"), Op.put(b"k3", b"3")], [])
    store.delete(b"k1")
    seen = []
    while len(seen) < 4:
        batch = watcher.next_responses(WAIT)
        assert batch, f"only {seen} arrived"
        seen.extend((e.type, e.kv.key, r.revision) for r in batch for e in r.events)
    assert seen == [(EventType.PUT, b"k1", 2), (EventType.PUT, b"k2", 3), (EventType.PUT, b"k3", 3),
                    (EventType.DELETE, b"k1", 4)]
    assert watcher.revision == 4
    store.put(b"k4", b"4")
    assert watcher.get(WAIT).kv.key == b"k4"
    store.txn([], [Op.put(b"k5", b"5"), Op.put(b"k6", b"6")], [])
    assert watcher.get(WAIT).kv.key == b"k5"
    leftover = watcher.next_responses(WAIT)  # the rest of the response being iterated comes first
    assert [[e.kv.key for e in r.events] for r in leftover] == [[b"k6"]]
    watcher.request_progress()
    progress = []
    while not progress:
        progress = watcher.next_responses(WAIT)
    assert [(r.progress_notify, r.events, r.revision) for r in progress] == [(True, (), 6)]
    watcher.cancel()
    assert watcher.next_responses(0.05) == []


def test_next_responses_of_a_slow_consumer_catch_up_from_history(clock):
    with _slow_consumer(clock) as (store, watcher):
        values = []
        while len(values) < 200:
            batch = watcher.next_responses(WAIT)
            assert batch and all(len(r.events) == 1 for r in batch)
            values.extend(r.events[0].kv.value for r in batch)
        assert values == [b"%d" % n for n in range(200)]
        store.compact(store.revision)
        store.put(b"k", b"live")
        assert [r.events[0].kv.value for r in watcher.next_responses(WAIT)] == [b"live"]
        watcher.cancel()


def test_next_responses_raise_compacted_after_what_was_queued(clock):
    with _behind_a_compaction(clock) as watcher:
        assert [r.events[0].kv.value for r in watcher.next_responses(WAIT)] == [b"0", b"1"]
        with pytest.raises(kvstore.Compacted):
            watcher.next_responses(WAIT)
        assert watcher.canceled


def test_a_consumer_waiting_in_next_responses_is_woken_and_sees_every_event_once(store, wait_for):
    watcher = store.watch(b"w", prefix=True)
    got = []

    def read() -> None:
        while len(got) < 300:
            batch = watcher.next_responses(WAIT)
            if not batch:
                return
            got.extend(e.kv.value for r in batch for e in r.events)

    reader = threading.Thread(target=read)
    reader.start()
    for number in range(300):
        store.put(b"w%d" % (number % 5), b"%d" % number)
    reader.join(WAIT)
    assert not reader.is_alive() and got == [b"%d" % n for n in range(300)]
    watcher.cancel()


def test_two_consumers_of_one_watcher_are_each_woken_and_take_every_event_once(store, wait_for):
    watcher = store.watch(b"t", prefix=True)
    taken: list[list[bytes]] = [[], []]
    total = 200

    def read(mine: list[bytes]) -> None:
        while True:
            batch = watcher.next_responses(WAIT)  # a missed wake-up would leave the last events untaken
            if not batch:
                return  # canceled
            mine.extend(e.kv.value for r in batch for e in r.events)

    readers = [threading.Thread(target=read, args=(mine,)) for mine in taken]
    for reader in readers:
        reader.start()
    try:
        for number in range(total):
            store.put(b"t%d" % (number % 3), b"%d" % number)
            if number % 50 == 0:
                # well within the consumers' own WAIT: a consumer not woken would take the write only then
                wait_for(lambda: sum(len(t) for t in taken) > number, "a consumer to take the write", WAIT / 3)
        wait_for(lambda: sum(len(t) for t in taken) == total, "the consumers to take every write", WAIT / 3)
    finally:
        watcher.cancel()  # wakes both
        for reader in readers:
            reader.join(WAIT)
    assert not any(reader.is_alive() for reader in readers)
    assert sorted(taken[0] + taken[1], key=int) == [b"%d" % n for n in range(total)]
    for mine in taken:
        assert mine == sorted(mine, key=int)  # each consumer's share in revision order

"""The store against a plain model: a dict of the whole key space at every revision.

Hypothesis drives put, delete (keys and ranges), txn, compact, reads at old revisions, leases with a fake
clock (grant, keepalive, revoke, expiry) and watch streams from random start revisions with a tiny queue
(so watchers fall behind and catch up). Every read, revision, error and event must equal the model's.
"""
from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import kvstore
from kvstore import Compare, EventType, Op



class FakeClock:
    """A clock the test moves by hand (the conftest fixture's twin, for a class hypothesis builds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

KEYS = [b"a", b"ab", b"b", b"ba", b"c", b"\xff"]
keys = st.sampled_from(KEYS)
values = st.binary(max_size=3)
ENDS = [None, b"b", b"c", b"\0"]  # single key, two ranges, every key from key


def in_range(key, start, end):
    if end is None:
        return key == start
    if end == b"\0":
        return key >= start
    return start <= key < end


class StoreVersusModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.clock = FakeClock()
        self.store = kvstore.open(clock=self.clock, watch_queue_size=3)
        # states[r]: the key space at revision r, key -> (value, create, mod, version, lease)
        self.states = [{}, {}]
        self.events = []  # (revision, type, key, value) in order
        self.compact_revision = 0
        self.leases = {}  # id -> [ttl, expiry]
        self.watchers = []  # [watcher, start, end, start_revision, seen events]
        self.next_lease = 1

    @property
    def revision(self):
        return len(self.states) - 1

    def teardown(self):
        self.store.close()

    # ------------------------------------------------------------------ model helpers
    def _new_revision(self, changes):
        """changes: [(type, key, value, lease)] in op order; builds the next state."""
        revision = self.revision + 1
        state = dict(self.states[-1])
        for kind, key, value, lease in changes:
            if kind == "put":
                prev = state.get(key)
                create, version = (prev[1], prev[3] + 1) if prev else (revision, 1)
                state[key] = (value, create, revision, version, lease)
                self.events.append((revision, EventType.PUT, key, value))
            else:
                del state[key]
                self.events.append((revision, EventType.DELETE, key, b""))
        self.states.append(state)
        return revision

    def _lease_keys(self, lease_id):
        return sorted(k for k, kv in self.states[-1].items() if kv[4] == lease_id)

    def _revoke(self, lease_id):
        del self.leases[lease_id]
        doomed = self._lease_keys(lease_id)
        if doomed:
            self._new_revision([("delete", key, b"", 0) for key in doomed])

    # ------------------------------------------------------------------ rules
    @rule(key=keys, value=values, use_lease=st.booleans())
    def put(self, key, value, use_lease):
        lease = next(iter(self.leases), 0) if use_lease else 0
        response = self.store.put(key, value, lease=lease, prev_kv=True)
        prev = self.states[-1].get(key)
        assert response.revision == self._new_revision([("put", key, value, lease)])
        assert (response.prev_kv.value if response.prev_kv else None) == (prev[0] if prev else None)

    @rule(key=keys, end=st.sampled_from(ENDS))
    def delete(self, key, end):
        doomed = sorted(k for k in self.states[-1] if in_range(k, key, end))
        response = self.store.delete(key, end, prev_kv=True)
        assert response.deleted == len(doomed)
        assert [kv.key for kv in response.prev_kvs] == doomed
        if doomed:
            assert response.revision == self._new_revision([("delete", k, b"", 0) for k in doomed])
        else:
            assert response.revision == self.revision

    @rule(guard_key=keys, guess=st.integers(0, 3), writes=st.lists(st.tuples(keys, values, st.booleans()),
                                                                      max_size=3, unique_by=lambda w: w[0]),
          failure_key=keys, duplicate=st.booleans())
    def txn(self, guard_key, guess, writes, failure_key, duplicate):
        success = [Op.put(k, v) if is_put else Op.delete(k) for k, v, is_put in writes]
        if duplicate and writes:
            success.append(Op.put(writes[0][0], b"again"))
            try:
                self.store.txn([Compare.version(guard_key) == guess], success)
            except kvstore.DuplicateKey:
                return
            raise AssertionError("a txn writing a key twice was accepted")
        state = self.states[-1]
        version = state[guard_key][3] if guard_key in state else 0
        response = self.store.txn([Compare.version(guard_key) == guess], success,
                                  [Op.put(failure_key, b"f"), Op.get(guard_key)])
        assert response.succeeded is (version == guess)
        if response.succeeded:
            changes = [("put", k, v, 0) if is_put else ("delete", k, b"", 0)
                       for k, v, is_put in writes if is_put or k in state]
        else:
            changes = [("put", failure_key, b"f", 0)]
        if changes:
            assert response.revision == self._new_revision(changes)
        else:
            assert response.revision == self.revision

    @rule(back=st.integers(0, 6))
    def compact(self, back):
        target = max(1, self.revision - back)
        if target <= self.compact_revision:
            try:
                self.store.compact(target)
            except kvstore.Compacted as error:
                assert error.compact_revision == self.compact_revision
                return
            raise AssertionError("compaction at or below the compact revision was accepted")
        self.store.compact(target)
        self.compact_revision = target

    @rule(key=keys, end=st.sampled_from(ENDS), back=st.integers(-1, 8), limit=st.integers(0, 3))
    def range_at(self, key, end, back, limit):
        revision = self.revision - back
        if revision <= 0:
            revision = 0  # the current revision
        try:
            response = self.store.range(key, end, revision=revision, limit=limit)
        except kvstore.Compacted:
            assert 0 < revision < self.compact_revision
            return
        except kvstore.FutureRevision:
            assert revision > self.revision
            return
        assert not 0 < revision < self.compact_revision and revision <= self.revision
        state = self.states[revision or self.revision]
        expected = sorted((k, kv) for k, kv in state.items() if in_range(k, key, end))
        assert response.count == len(expected) and response.revision == self.revision
        shown = expected[:limit] if limit else expected
        assert [(kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease)
                for kv in response.kvs] == [(k, *kv) for k, kv in shown]
        assert response.more == (bool(limit) and len(expected) > limit)

    @rule(ttl=st.integers(1, 10))
    def grant(self, ttl):
        lease = self.store.grant(ttl, id=self.next_lease)
        self.leases[lease.id] = [ttl, self.clock.now + ttl]
        self.next_lease += 1

    @precondition(lambda self: self.leases)
    @rule(data=st.data())
    def keepalive(self, data):
        lease_id = data.draw(st.sampled_from(sorted(self.leases)))
        self.store.keepalive(lease_id)
        self.leases[lease_id][1] = self.clock.now + self.leases[lease_id][0]

    @precondition(lambda self: self.leases)
    @rule(data=st.data())
    def revoke(self, data):
        lease_id = data.draw(st.sampled_from(sorted(self.leases)))
        self.store.revoke(lease_id)
        self._revoke(lease_id)

    @rule(seconds=st.integers(0, 6))
    def advance_clock(self, seconds):
        self.clock.advance(seconds)
        due = sorted((expiry, lease_id) for lease_id, (_, expiry) in self.leases.items()
                     if expiry <= self.clock.now)
        assert self.store.expire_leases() == [lease_id for _, lease_id in due]
        for _, lease_id in due:
            self._revoke(lease_id)

    @rule(key=keys, end=st.sampled_from([b"\0", b"c", None]), back=st.integers(-1, 6))
    def watch(self, key, end, back):
        start = max(1, self.revision - back)
        watcher = self.store.watch(key, end, start_revision=start)
        self.watchers.append([watcher, key, end, start, [], start == self.compact_revision])

    @rule()
    def drain_watchers(self):
        for entry in list(self.watchers):
            watcher, key, end, start, seen, from_compaction = entry
            events = self.events
            if from_compaction:
                # as etcd after compaction: the compact revision keeps each key's last event, if a put
                last = {e[2]: i for i, e in enumerate(events) if e[0] == start}
                events = [e for i, e in enumerate(events)
                          if e[0] != start or (last[e[2]] == i and e[1] is EventType.PUT)]
            expected = [e for e in events if e[0] >= start and in_range(e[2], key, end)]
            try:
                while len(seen) < len(expected):
                    event = watcher.get(5.0)
                    assert event is not None, "a watcher stalled"
                    seen.append((event.kv.mod_revision, event.type, event.kv.key, event.kv.value))
                assert watcher.get(0) is None
            except kvstore.Compacted as error:
                # allowed only if the history it still needed is gone
                assert error.revision < self.compact_revision
                assert seen == expected[:len(seen)]
                assert not seen or error.revision > seen[-1][0]
                self.watchers.remove(entry)
                continue
            assert seen == expected

    # ------------------------------------------------------------------ invariants
    @invariant()
    def latest_state_matches(self):
        status = self.store.status()
        assert (status.revision, status.compact_revision) == (self.revision, self.compact_revision)
        assert status.keys == len(self.states[-1])
        for key in KEYS:
            kv = self.store.get(key)
            expected = self.states[-1].get(key)
            assert (None if kv is None else (kv.value, kv.create_revision, kv.mod_revision, kv.version,
                                             kv.lease)) == expected

    @rule()
    def snapshot_restores_the_same_state(self):
        state = self.store._state
        copy = kvstore.StateMachine()
        copy.restore(state.snapshot())
        assert copy.hash_kv() == state.hash_kv()
        assert (copy.revision, copy.compact_revision) == (state.revision, state.compact_revision)
        for revision in range(max(self.compact_revision, 1), self.revision + 1):
            assert copy.hash_kv(revision) == state.hash_kv(revision)
        assert copy.events_since(0, 10 ** 6)[1] == state.events_since(0, 10 ** 6)[1]


StoreVersusModel.TestCase.settings = settings(max_examples=75, stateful_step_count=50, deadline=None)
TestStoreVersusModel = StoreVersusModel.TestCase

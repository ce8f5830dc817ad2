"""Hollow nodes renew their Lease as the object they last wrote with a new renewTime (objects.specwrite's
update): the store holds the same bytes at the same revisions, and a watcher sees the same events, as when
every renewal is the kubelet's Lease dict read with ``from_dict`` (the general update), through writes of
others (a Conflict, a deleted Lease) and a Node registered again (a new uid). Heartbeats and status reports are
due on a grid of slots: never later than asked, less than a slot earlier."""
from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

import kvstore
import objects
import objects.specwrite
from controllers.hollownodes import HollowNodes, _slotted
from controllers.kubeletstatus import NODE_LEASE_NAMESPACE

from ctrl_helpers import FakeClock

NODES = 3
LEASES = "/registry/leases/kube-node-lease/"


def _cluster(monkeypatch, clock):
    """Registry (uids numbered from 1, times from ``clock``) with NODES hollow nodes registered, not started
    (their renewals are driven here, one by one)."""
    numbers = itertools.count(1)
    monkeypatch.setattr("objects.registry.new_uid", lambda: f"00000000-0000-4000-8000-{next(numbers):012d}")
    registry = objects.Registry(kvstore.open(), clock=clock)
    nodes = HollowNodes(registry, NODES, clock=clock)
    nodes._ensure_namespace()
    for node in nodes:
        nodes._register(node)
        nodes._renew_lease(node)
    watch = registry.store.watch(LEASES, prefix=True, start_revision=registry.store.revision + 1)
    return registry, nodes, watch


def _leases(registry):
    """(key, value, mod_revision) of every Lease, and the store's revision."""
    kvs = registry.store.range(LEASES, prefix=True).kvs
    return [(kv.key, kv.value, kv.mod_revision) for kv in kvs], registry.store.revision


def _events(watch):
    return [(e.type, e.kv.key, e.kv.value, e.kv.mod_revision)
            for response in watch.next_responses(0) for e in response.events]


def _run(monkeypatch, as_read: bool) -> tuple[list, list, int]:
    """Four rounds of renewals with writes of others between them; the Leases after each round, the watch
    events, and how many renewals took the spec update of an object as read."""
    clock = FakeClock()
    registry, nodes, watch = _cluster(monkeypatch, clock)
    taken = [0]
    encode = objects.specwrite.encode_spec

    def counted(old, spec):
        taken[0] += 1
        return encode(old, spec)
    monkeypatch.setattr(objects.specwrite, "encode_spec", counted)
    states = []
    try:
        for round_ in range(4):
            clock.advance(10.0)
            if round_ == 1:  # another writer labels node 0's Lease: its renewal meets a Conflict and re-reads
                lease = registry.get("Lease", "hollow-node-0", NODE_LEASE_NAMESPACE)
                registry.update(lease.replace(metadata=lease.metadata.replace(labels={"x": "1"})))
            if round_ == 2:  # node 1's Lease deleted, node 2's Node registered again (a new uid to own its Lease)
                registry.delete("Lease", "hollow-node-1", NODE_LEASE_NAMESPACE)
                registry.delete("Node", "hollow-node-2")
                nodes._register(nodes.node("hollow-node-2"))
            for node in nodes:
                if not as_read:
                    node.lease = None  # the general path: the Lease dict with the version last written
                nodes._renew_lease(node)
            states.append(_leases(registry))
        return states, _events(watch), taken[0]
    finally:
        registry.store.close()


def test_renewals_as_read_store_and_send_what_the_lease_dict_does(monkeypatch) -> None:
    states, events, taken = _run(monkeypatch, as_read=True)
    reference_states, reference_events, reference_taken = _run(monkeypatch, as_read=False)
    assert states == reference_states
    assert events == reference_events
    assert len(events) == 4 * NODES + 2  # every renewal, the label, the deletion (one per write)
    assert reference_taken == 0
    assert taken >= 2 * NODES  # the renewals that were not after another's write took it


def test_a_renewal_is_a_resource_version_preconditioned_update(monkeypatch) -> None:
    clock = FakeClock()
    registry, nodes, watch = _cluster(monkeypatch, clock)
    try:
        node = nodes.node("hollow-node-0")
        written = node.lease
        clock.advance(10.0)
        nodes._renew_lease(node)
        renewed = registry.get("Lease", "hollow-node-0", NODE_LEASE_NAMESPACE)
        assert renewed.spec.renew_time != written.spec.renew_time
        assert renewed.metadata.resource_version == node.lease_version
        # an update of the object written before, as the renewal makes it, is refused now: a precondition
        stale = written.replace(spec=written.spec.replace(renew_time=renewed.spec.renew_time))
        try:
            registry.update(stale)
        except objects.Conflict:
            pass
        else:
            raise AssertionError("an update with a stale resourceVersion was written")
        assert _events(watch)[-1][3] == int(renewed.metadata.resource_version)
    finally:
        registry.store.close()


@settings(max_examples=500, deadline=None)
@given(st.floats(0, 4e9, allow_nan=False), st.sampled_from([0.1, 0.2, 10.0, 300.0, 1e6]))
def test_a_timer_slot_is_never_later_and_less_than_a_slot_earlier(due, interval) -> None:
    slotted = _slotted(due, interval)
    assert slotted <= due
    assert due - slotted < interval / 200 * (1 + 1e-9) + 1e-6

"""EventRecorder: v1 Events written in the background, repeated ones counted, floods dropped, never raising."""
from __future__ import annotations

import pytest

from controllers import EventRecorder

from ctrl_helpers import WAIT, pod


@pytest.fixture
def recorder(registry):
    rec = EventRecorder(registry, "replicaset-controller")
    yield rec
    rec.stop()


def events_of(registry, name):
    return [e for e in registry.list("Event", "default").items if e.involved_object.name == name]


def test_an_event_names_its_object_and_source(registry, recorder):
    target = registry.create(pod("web-1"))
    recorder.event(target, "Normal", "SuccessfulCreate", "Created pod: web-1")
    assert recorder.flush(WAIT)
    [event] = events_of(registry, "web-1")
    ref = event.involved_object
    assert (ref.kind, ref.namespace, ref.name, ref.uid) == ("Pod", "default", "web-1", target.metadata.uid)
    assert (event.type, event.reason, event.message, event.count) == ("Normal", "SuccessfulCreate",
                                                                     "Created pod: web-1", 1)
    assert event.source.component == "replicaset-controller"
    assert event.metadata.name.startswith("web-1.")


def test_the_same_event_again_bumps_count(registry, recorder):
    target = registry.create(pod("web-2"))
    for _ in range(3):
        recorder.event(target, "Warning", "FailedCreate", "quota")
    recorder.event(target, "Warning", "FailedCreate", "another message")
    assert recorder.flush(WAIT)
    by_message = {e.message: e.count for e in events_of(registry, "web-2")}
    assert by_message == {"quota": 3, "another message": 1}


def test_a_flood_is_dropped_after_the_burst(registry, recorder):
    target = registry.create(pod("noisy"))
    for i in range(40):
        recorder.event(target, "Normal", "Tick", f"tick {i}")
    assert recorder.flush(WAIT)
    assert len(events_of(registry, "noisy")) == 25
    assert recorder.dropped == 15


def test_bad_input_never_raises(registry, recorder):
    target = registry.create(pod("x"))
    recorder.event(target, "Fatal", "Oops", "not a type")  # refused, logged
    recorder.event(object(), "Normal", "Oops", "no metadata")  # logged
    assert recorder.flush(WAIT)
    assert events_of(registry, "x") == []


def test_sibling_recorders_share_one_writer(registry, recorder):
    other = recorder.with_component("job-controller")
    target = registry.create(pod("y"))
    other.event(target, "Normal", "Completed", "done")
    assert recorder.flush(WAIT)
    [event] = events_of(registry, "y")
    assert event.source.component == "job-controller"


def test_a_disabled_recorder_writes_nothing(registry):
    quiet = EventRecorder(registry, "x", enabled=False)
    target = registry.create(pod("z"))
    quiet.with_component("y").event(target, "Normal", "Seen", "not written")
    assert quiet.flush(WAIT) and events_of(registry, "z") == []
    quiet.stop()


def test_the_correlator_caches_are_bounded(registry):
    # client-go's EventCorrelator keeps LRUs of 4096 entries: a controller touching ever new objects must not
    # grow the recorder's memory without bound
    rec = EventRecorder(registry, "c", cache_size=8)
    try:
        for i in range(40):
            rec.event(registry.create(pod(f"many-{i}")), "Normal", "Created", "created")
        assert rec.flush(WAIT)
        assert len({e.involved_object.name for e in registry.list("Event", "default").items}) == 40
        assert rec.cached <= 16
    finally:
        rec.stop()


def test_a_flooding_object_keeps_its_bucket_while_idle_ones_are_dropped(registry):
    # least recently used goes first: x spends its burst, y and z come after, but x is used again between
    # them, so z's bucket evicts y's, not x's (first in, first out would forget x's and let its flood through)
    rec = EventRecorder(registry, "c", cache_size=2)
    try:
        x, y, z = (registry.create(pod(name)) for name in ("x", "y", "z"))
        for i in range(25):
            rec.event(x, "Normal", "Tick", f"tick {i}")
        rec.event(y, "Normal", "Tick", "y")
        rec.event(x, "Normal", "Tick", "dropped")
        rec.event(z, "Normal", "Tick", "z")
        rec.event(x, "Normal", "Tick", "dropped too")
        assert rec.flush(WAIT)
        assert len(events_of(registry, "x")) == 25 and rec.dropped == 2
    finally:
        rec.stop()


def test_a_bad_cache_size_is_refused(registry):
    with pytest.raises(ValueError, match="cache_size"):
        EventRecorder(registry, "c", cache_size=0)

"""Log entries as batches: each request id applied once, apply never raises, barriers change nothing."""
from __future__ import annotations

import msgpack
from hypothesis import given, settings, strategies as st

from kvstore.replication.machine import RESULT_LOST, ApplyFailed, BatchApplier, encode_batch

from .support import CounterMachine


class Exploding(CounterMachine):
    def apply(self, command):
        if command[0] == "boom":
            raise RuntimeError("boom")
        return super().apply(command)


requests = st.lists(st.tuples(st.one_of(st.none(), st.binary(min_size=1, max_size=2)), st.text(max_size=3)),
                    max_size=12)


@settings(max_examples=100, deadline=None)
@given(batches=st.lists(requests, max_size=6))
def test_every_request_id_is_applied_once_and_retries_get_the_first_result(batches) -> None:
    applier = BatchApplier(CounterMachine())
    first: dict[bytes, int] = {}
    for batch in batches:
        results = applier.apply_entry(encode_batch([(rid, None if rid is None else [key, 1]) for rid, key in batch]))
        for (rid, _key), result in zip(batch, results):
            if rid is None:
                assert result is None  # a read barrier
            else:
                assert result == first.setdefault(rid, result)
    assert applier.machine.revision == len(first)


def test_snapshot_keeps_the_ids_so_a_retry_after_restore_is_not_applied_again() -> None:
    applier = BatchApplier(CounterMachine())
    applier.apply_entry(encode_batch([(b"id-1", ["k", 1])]))
    restored = BatchApplier(CounterMachine())
    restored.restore(msgpack.unpackb(msgpack.packb(applier.snapshot(), use_bin_type=True), raw=False))
    assert restored.apply_entry(encode_batch([(b"id-1", ["k", 1])])) == [RESULT_LOST]
    assert restored.machine.revision == 1


def test_a_raising_state_machine_or_a_foreign_entry_does_not_wedge_the_log() -> None:
    applier = BatchApplier(Exploding())
    results = applier.apply_entry(encode_batch([(b"a", ["boom", 0]), (b"b", ["k", 1])]))
    assert isinstance(results[0], ApplyFailed) and results[1] == 1
    assert isinstance(applier.apply_entry(b"\xc1not msgpack")[0], ApplyFailed)

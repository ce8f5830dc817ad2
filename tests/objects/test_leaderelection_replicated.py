"""Leader election on a 3-member Raft store (in one process, 127.0.0.1): candidates talking to different
members; a paused holder hands over, a holder whose member is closed steps down before anyone else acts,
and every action is made by the holder of the lease at its revision."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from objects.registry import Registry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the checkers and the replication support
from leader_checker import Candidate, LeadershipLog, LeaseHistory, eventually  # noqa: E402
from replication.support import in_process_members  # noqa: E402

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def members(tmp_path):
    with in_process_members(str(tmp_path)) as members:
        yield members


def test_candidates_on_different_members_never_act_together(members) -> None:
    registries = [Registry(m) for m in members]
    log = LeadershipLog(members[2])
    history = LeaseHistory(registries[2], "lock")
    # Durations roomy for a loaded machine: a Raft write can take a while.
    timing = dict(lease_duration=4.0, renew_deadline=2.0, retry_period=0.4)
    a = Candidate("a", registries[0], log, **timing).start()
    b = Candidate("b", registries[1], log, **timing)
    c = Candidate("c", registries[2], log, **timing)
    try:
        assert eventually(lambda: a.elector.is_leader)
        b.start()
        c.start()
        assert eventually(lambda: a.actions > 3)
        a.elector.pause()
        assert eventually(lambda: b.elector.is_leader or c.elector.is_leader)
        holder = b if b.elector.is_leader else c
        if holder is c:  # keep c for the last act: hand over to b first
            c.elector.pause()
            assert eventually(lambda: b.elector.is_leader)
            c.elector.resume()
            holder = b
        assert eventually(lambda: holder.actions > 3)
        a.elector.resume()
        holder.halt()  # releases: one of the others takes it on its next retry
        assert eventually(lambda: any(x.elector.is_leader for x in (a, b, c) if x is not holder))

        # The holder's member goes away (closed): it cannot renew, steps down, and a candidate on a live
        # member takes over. c (on the member the checkers read) is kept out of it: paused.
        c.elector.pause()
        assert eventually(lambda: a.elector.is_leader)  # b and c are halted or paused: a leads
        members[0].close()
        assert eventually(lambda: not a.elector.is_leader)
        c.elector.resume()
        assert eventually(lambda: c.elector.is_leader)
        assert eventually(lambda: c.actions > 3)
    finally:
        for candidate in (a, b, c):
            candidate.halt()
    history.collect(members[2].status().revision)
    history.stop()
    history.check_transitions()
    log.check_actions(history)
    log.check_no_overlap(history)
    assert len({who for who, _ in log.actions}) >= 2

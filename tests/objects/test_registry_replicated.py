"""The Registry on a 3-member Raft cluster (in one process, 127.0.0.1): CAS holds across members."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from objects.errors import AlreadyExists
from objects.registry import Registry, retry_on_conflict

from registry_helpers import config_map

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the replication test package
from replication.support import WAIT, in_process_members  # noqa: E402

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def members(tmp_path):
    with in_process_members(str(tmp_path)) as members:
        yield members


def test_updates_through_different_members_are_never_lost(members):
    registries = [Registry(m) for m in members]
    registries[0].create(config_map("counter", {"n": "0"}))
    with pytest.raises(AlreadyExists):
        registries[1].create(config_map("counter"))
    with registries[2].watch("ConfigMap", all_namespaces=True, resource_version="1") as stream:
        errors = []

        def worker(reg):
            def increment():
                current = reg.get("ConfigMap", "counter")
                return reg.update(current.replace(data={"n": str(int(current.data["n"]) + 1)}))
            try:
                for _ in range(10):
                    retry_on_conflict(increment, attempts=1000)
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(r,)) for r in registries[:2]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=150)
        assert not any(t.is_alive() for t in threads) and errors == []
        final = registries[2].get("ConfigMap", "counter")
        assert final.data["n"] == "20"
        seen = []
        while len(seen) < 21:
            event = stream.get(WAIT)
            assert event is not None, f"watch on the third member stopped after {len(seen)} events"
            seen.append(event)
        assert [e.type for e in seen] == ["ADDED"] + ["MODIFIED"] * 20
        assert [e.object.data["n"] for e in seen] == [str(i) for i in range(21)]

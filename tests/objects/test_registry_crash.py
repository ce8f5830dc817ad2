"""Registry on a durable store under SIGKILL: every acknowledged update is there after reopening."""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("kvstore.wal", reason="the kvstore WAL is not in this tree")

import kvstore  # noqa: E402
from objects.registry import Registry  # noqa: E402

SRC = pathlib.Path(__file__).resolve().parents[2] / "src"

CHILD = textwrap.dedent("""
    import sys
    import kvstore, objects
    from objects.registry import Registry, retry_on_conflict
    store = kvstore.open(sys.argv[1], fsync="always")
    reg = Registry(store)
    reg.create(objects.from_dict({"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "counter"}, "data": {"n": "0"}}))
    print("ready", flush=True)
    n = 0
    while True:
        current = reg.get("ConfigMap", "counter")
        n = int(current.data["n"]) + 1
        reg.update(current.replace(data={"n": str(n)}))
        print(n, flush=True)                # acknowledged: the update returned
""")


def test_acknowledged_updates_survive_sigkill(tmp_path):
    data_dir = str(tmp_path / "kv")
    env = dict(os.environ, PYTHONPATH=str(SRC))
    child = subprocess.Popen([sys.executable, "-c", CHILD, data_dir], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    acknowledged = 0
    try:
        deadline = time.monotonic() + 60
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        while acknowledged < 40 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            acknowledged = int(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        # the child went on acknowledging after we stopped reading: those lines wait in the pipe, and the
        # last complete one is the last update acknowledged before the kill
        tail = child.stdout.read() if child.stdout else ""
        for line in tail.split("\n")[:-1]:  # a line without its newline was not acknowledged
            if line.isdigit():
                acknowledged = int(line)
        errors = child.stderr.read() if child.stderr else ""
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
    assert acknowledged >= 40, errors
    with kvstore.open(data_dir, fsync="always") as store:
        reg = Registry(store)
        counter = reg.get("ConfigMap", "counter")
        # every acknowledged write is durable; at most the one in flight when killed is extra
        assert acknowledged <= int(counter.data["n"]) <= acknowledged + 1
        assert counter.metadata.resource_version == str(store.get("/registry/configmaps/default/counter").mod_revision)
        again = reg.update(counter.replace(data={"n": "done"}))
        assert again.data == {"n": "done"}

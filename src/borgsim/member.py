"""A follower Raft member in a process of its own, for ``--cluster``:
``python -m borgsim.member DATA_DIR SELF_ADDRESS PEER PEER ...`` (the shared secret in the environment,
``BORGSIM_RAFT_SECRET``). It serves Raft to its peers only, and ends when its standard input closes (the
simulation ended or died) or on SIGTERM."""
from __future__ import annotations

import os
import signal
import sys
import threading

SECRET_ENV = "BORGSIM_RAFT_SECRET"
# Followers campaign later than the simulation's own member, so the member in the simulation's process
# (the one its Registry writes to) is almost always the leader, and writes are not forwarded.
FOLLOWER_ELECTION_TIMEOUT = (2.0, 3.0)


def main(argv: list[str]) -> int:
    import kvstore
    from kvstore.replication import Cluster

    data_dir, self_address, *peers = argv
    secret = os.environ.get(SECRET_ENV)
    if not secret:
        sys.stderr.write(f"borgsim.member: {SECRET_ENV} is not set\n")
        return 2
    low, high = FOLLOWER_ELECTION_TIMEOUT
    member = kvstore.open(data_dir, fsync="always", cluster=Cluster(
        self_address=self_address, peers=peers, secret=secret, election_timeout_min=low,
        election_timeout_max=high))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def wait_stdin() -> None:
        sys.stdin.read()
        done.set()

    threading.Thread(target=wait_stdin, daemon=True).start()
    print("ready", flush=True)
    done.wait()
    member.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

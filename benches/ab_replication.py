"""Single-client put of two borgkit source trees and etcd 3.4, all three clusters up at once, interleaved.

    python benches/ab_replication.py TREE_A TREE_B [--rounds N] [--puts N]

An A/B for a change to the replication code on a shared machine: clusters of 3 member processes are
started from TREE_A and from TREE_B (each member imports its own tree's src/, through that tree's
tests/replication/member_main.py), and a 3-member etcd beside them; then rounds of N sequential
puts (256 B values, 500 by default) go to each in turn, the order reversed every other round, for
`--rounds` rounds (20 by default). Because the three run side by side, a change of the machine's
load hits them alike: the figure to read is the median of the per-round ratios B/A (and of A/etcd,
B/etcd), with the number of rounds B won, rather than rates taken minutes apart.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_replication as bench  # noqa: E402  (puts this tree's root, src and tests on the path)
from tests.replication import harness  # noqa: E402


def rate(put: Callable[[int], Any], first: int, count: int) -> float:
    start = time.perf_counter()
    for i in range(first, first + count):
        put(i)
    return count / (time.perf_counter() - start)


def main() -> None:
    args = sys.argv[1:]
    if len(args) < 2 or "-h" in args or "--help" in args:
        print(__doc__)
        return
    trees = {"A": os.path.abspath(args[0]), "B": os.path.abspath(args[1])}
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 20
    puts = int(args[args.index("--puts") + 1]) if "--puts" in args else 500
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ab-replication-", ignore_cleanup_errors=True) as root:
        systems: list[bench.System] = []
        try:
            for name, tree in trees.items():
                harness.MEMBER_MAIN = os.path.join(tree, "tests", "replication", "member_main.py")
                os.makedirs(os.path.join(root, name))
                system = bench.RpcSystem(name, harness.ProcessCluster(3, os.path.join(root, name), proxied=False),
                                         linearizable_gets=True)
                systems.append(system)
                system.start()  # starts the members now, with this tree's member_main
            if os.access(bench.ETCD, os.X_OK):
                os.makedirs(os.path.join(root, "etcd"))
                systems.append(bench.EtcdSystem(os.path.join(root, "etcd")))
                systems[-1].start()
            puts_of = {system.name: system.put("ab") for system in systems}
            for system in systems:  # warm-up: connections, caches
                rate(puts_of[system.name], 10 ** 7, 200)
            rates: dict[str, list[float]] = {system.name: [] for system in systems}
            for round_ in range(rounds):
                for system in (systems if round_ % 2 == 0 else systems[::-1]):
                    rates[system.name].append(rate(puts_of[system.name], round_ * puts, puts))
        finally:
            bench.stop_every(systems)
    etcd = next((name for name in rates if name not in trees), None)
    print(f"{rounds} interleaved rounds of {puts} puts, 1 client, 256 B values; load average before "
          f"{', '.join(f'{x:.2f}' for x in load_before)}, after {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("median rate: " + ", ".join(f"{name} {statistics.median(values):,.0f}/s" for name, values in rates.items()))
    won = sum(b > a for a, b in zip(rates["A"], rates["B"]))
    print(f"B/A per round, median: {statistics.median(b / a for a, b in zip(rates['A'], rates['B'])):.3f} "
          f"(B faster in {won} of {rounds} rounds)")
    if etcd is not None:
        for name in trees:
            print(f"{name}/etcd per round, median: "
                  f"{statistics.median(x / e for x, e in zip(rates[name], rates[etcd])):.2f}")


if __name__ == "__main__":
    main()

"""Where the simulation's memory goes: RSS against pods Running during borgsim's density phase.

    python benches/bench_simmem.py --nodes 1000 --pods 20000 --deployments 10
    python benches/bench_simmem.py ... --src /work/wt/old/src      # another checkout, for a before/after
    python benches/bench_simmem.py ... --census                    # also who holds the decoded pods

Runs the density phase in this process (as ``python -m borgsim --no-rolling-update --failure-fraction 0
--heartbeat 10 --node-grace 40`` does) and samples every ``--every`` seconds: pods Running, RSS
(/proc/self/status VmRSS), bytes in use in glibc's heap (mallinfo2) and in pymalloc's arenas. Prints the
samples, the peak RSS (``ru_maxrss``) and the RSS slope in MiB per 1,000 pods (least squares over the
samples from a third of the pods on, past the start-up of the nodes and the fill of the registry's
remembered-objects window). ``--census`` ends with the Pod objects alive against the pods (decoded
copies per pod) and the holders of each (type of the container, and of what holds that).
"""
from __future__ import annotations

import argparse
import collections
import ctypes
import gc
import os
import resource
import sys
import threading
import time


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--pods", type=int, default=20000)
    p.add_argument("--deployments", type=int, default=10)
    p.add_argument("--every", type=float, default=3.0, help="seconds between samples")
    p.add_argument("--src", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"),
                   help="the src/ directory to import borgkit from (default: this checkout's)")
    p.add_argument("--census", action="store_true", help="count the decoded pods and their holders at the end")
    return p.parse_args()


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _heap_in_use() -> int | None:
    """Bytes glibc's malloc has handed out (small blocks in its arenas plus mmapped ones), or None."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return None
    info = libc.mallinfo2()
    return int(info.uordblks + info.hblkhd)


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _pymalloc_in_use() -> int | None:
    """Bytes in allocated pymalloc blocks (from sys._debugmallocstats, which writes to fd 2)."""
    import tempfile
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        for line in tmp.read().decode(errors="replace").splitlines():
            if line.startswith("# bytes in allocated blocks"):
                return int(line.split("=")[1].replace(",", ""))
    return None


def _slope(points: list[tuple[int, float]]) -> float | None:
    """MiB per 1,000 pods, least squares."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(p for p, _ in points) / n
    my = sum(r for _, r in points) / n
    sxx = sum((p - mx) ** 2 for p, _ in points)
    if not sxx:
        return None
    return 1000 * sum((p - mx) * (r - my) for p, r in points) / sxx


def _census(pod_cls: type) -> None:
    gc.collect()
    pods = [o for o in gc.get_objects() if type(o) is pod_cls]
    uids = {p.metadata.uid for p in pods}
    versions = {(p.metadata.uid, p.metadata.resource_version) for p in pods}
    print(f"\nPod objects alive: {len(pods):,} for {len(uids):,} pods ({len(versions):,} distinct revisions)")
    wanted = {id(p) for p in pods}
    parent: dict[int, object] = {}
    holders: collections.Counter[str] = collections.Counter()
    direct: list[object] = []
    for o in gc.get_objects():
        if o is pods:
            continue
        for r in gc.get_referents(o):
            if id(r) in wanted:
                direct.append(o)
            else:
                parent.setdefault(id(r), o)
    for o in direct:
        up = parent.get(id(o))
        holders[f"{type(o).__name__} < {type(up).__name__ if up is not None else '?'}"] += 1
    for name, n in holders.most_common(12):
        print(f"  {n:>9,}  {name}")


def main() -> None:
    args = _args()
    sys.path.insert(0, args.src)
    import objects
    from borgsim.cluster import SimCluster, StoreSpec
    from borgsim.config import SimConfig
    from borgsim.scenario import run_density

    done = [0]
    samples: list[tuple[float, int, float, int | None, int | None]] = []
    stop = threading.Event()
    started = time.monotonic()

    def sample() -> None:
        while not stop.wait(args.every):
            samples.append((time.monotonic() - started, done[0], _rss_mib(), _heap_in_use(), _pymalloc_in_use()))

    config = SimConfig(nodes=args.nodes, pods=args.pods, deployments=args.deployments, rolling_update=False,
                       failure_fraction=0, heartbeat_interval=10, node_monitor_grace_period=40)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with SimCluster(config, StoreSpec()) as cluster:
        result = run_density(cluster, progress=lambda phase, n, total: done.__setitem__(0, n))
        stop.set()
        sampler.join()
        density = result.phases[0]
        mib = 1024 * 1024
        print(f"{'s':>7} {'pods':>8} {'RSS MiB':>8} {'glibc MiB':>9} {'pymalloc MiB':>12}")
        for t, n, rss, heap, py in samples:
            print(f"{t:7.1f} {n:8,} {rss:8.0f} {heap / mib if heap else 0:9.0f} {py / mib if py else 0:12.0f}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        fit = [(n, rss) for _, n, rss, _, _ in samples if n >= args.pods / 3]
        slope = _slope(fit)
        print(f"\n{args.nodes:,} nodes, {args.pods:,} pods: density {'ok' if density.ok else 'NOT finished'} in "
              f"{density.seconds:.0f} s; peak RSS {peak:,.0f} MiB; RSS slope "
              f"{f'{slope:.1f} MiB' if slope is not None else '-'} per 1,000 pods (from {args.pods // 3:,} pods on); "
              f"load average {os.getloadavg()[0]:.1f}; src {args.src}")
        if args.census:
            _census(objects.Pod)


if __name__ == "__main__":
    main()

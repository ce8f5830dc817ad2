"""apiserver speed beside the Registry called in-process, in the same run (issue 13).

    python benches/bench_apiserver.py [--pods 2000] [--list-pods 1000] [--watchers 1000] [--events 30]
                                      [--concurrency 8] [--slo-nodes 0 --slo-pods 0]

The server runs in a child process (``python -m apiserver``, in-memory store) so the client, an aiohttp
session in this process, does not share its interpreter; the in-process reference is a Registry on an
in-memory store in this process. Printed: requests/s for create, get and list (of --list-pods pods),
and the watch fan-out: --watchers open watches on one namespace, --events writes, the delay from sending
each write to each watcher decoding its event (p50 / p99 over every watcher and event). The reference
fan-out is as many Registry WatchStreams drained in-process after each write.

``--slo-nodes 5000 --slo-pods 150000`` also loads that many objects (through the Registry of an in-process
server, for speed) and measures kube-apiserver's SLO anchors over HTTP: p99 of mutating calls (<= 1 s)
and of a list of every pod (<= 30 s).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from typing import Any

import aiohttp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
import kvstore  # noqa: E402
import objects  # noqa: E402


def pod(name: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                                            "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                                     "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def run_concurrently(n: int, concurrency: int, one: Any) -> tuple[float, list[float]]:
    """Run ``one(i)`` for i < n with ``concurrency`` in flight; (elapsed seconds, per-call latencies)."""
    latencies: list[float] = []
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            t0 = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies


async def http_bench(url: str, args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def create(i: int) -> None:
            async with session.post(f"{url}/api/v1/namespaces/bench/pods", json=pod(f"p{i}", "bench")) as r:
                assert r.status == 201, await r.text()
                await r.read()

        elapsed, lat = await run_concurrently(args.pods, args.concurrency, create)
        results["create"] = (args.pods / elapsed, pct(lat, 0.99))

        async def get(i: int) -> None:
            async with session.get(f"{url}/api/v1/namespaces/bench/pods/p{random.randrange(args.pods)}") as r:
                assert r.status == 200
                await r.read()

        elapsed, lat = await run_concurrently(args.pods, args.concurrency, get)
        results["get"] = (args.pods / elapsed, pct(lat, 0.99))

        if args.list_pods != args.pods:
            await run_concurrently(args.list_pods, args.concurrency,
                                   lambda i: _post(session, f"{url}/api/v1/namespaces/list/pods", pod(f"l{i}", "list")))
        namespace = "bench" if args.list_pods == args.pods else "list"
        lists = max(5, 20000 // max(1, args.list_pods))

        async def list_all(i: int) -> None:
            async with session.get(f"{url}/api/v1/namespaces/{namespace}/pods") as r:
                body = await r.read()
                assert r.status == 200 and len(json.loads(body)["items"]) == args.list_pods

        elapsed, lat = await run_concurrently(lists, 2, list_all)
        results["list"] = (lists / elapsed, pct(lat, 0.99))
        results["watch"] = await watch_fanout(session, url, args)
    return results


async def _post(session: aiohttp.ClientSession, url: str, body: Any) -> None:
    async with session.post(url, json=body) as r:
        assert r.status == 201, await r.text()
        await r.read()


async def watch_fanout(session: aiohttp.ClientSession, url: str, args: argparse.Namespace) -> tuple[float, float, int]:
    await _post(session, f"{url}/api/v1/namespaces/fan/configmaps",
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hot"}, "data": {"n": "0"}})
    async with session.get(f"{url}/api/v1/namespaces/fan/configmaps") as r:
        rv = (await r.json())["metadata"]["resourceVersion"]
    sent: dict[str, float] = {}
    delays: list[float] = []
    received = 0

    async def watcher(opened: asyncio.Event) -> None:
        nonlocal received
        async with session.get(f"{url}/api/v1/namespaces/fan/configmaps?watch=1&resourceVersion={rv}"
                               f"&timeoutSeconds=600") as r:
            opened.set()
            count = 0
            async for line in r.content:
                now = time.perf_counter()
                # the write's number, found without decoding the whole event (the client is Python too)
                start = line.index(b'"n":"') + 5
                delays.append(now - sent[line[start:line.index(b'"', start)].decode()])
                received += 1
                count += 1
                if count == args.events:
                    return

    opens = [asyncio.Event() for _ in range(args.watchers)]
    tasks = [asyncio.create_task(watcher(e)) for e in opens]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opens)), 120)
    await asyncio.sleep(1.0)  # every watch registered with the fan-out
    for n in range(1, args.events + 1):
        sent[str(n)] = time.perf_counter()
        async with session.patch(f"{url}/api/v1/namespaces/fan/configmaps/hot", data=json.dumps({"data": {"n": str(n)}}),
                                 headers={"Content-Type": "application/merge-patch+json"}) as r:
            assert r.status == 200
            await r.read()
        await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    return pct(delays, 0.5), pct(delays, 0.99), received


def in_process(args: argparse.Namespace) -> dict[str, Any]:
    store = kvstore.open()
    reg = objects.Registry(store)
    results: dict[str, Any] = {}
    start = time.perf_counter()
    for i in range(args.pods):
        reg.create(objects.from_dict(pod(f"p{i}", "bench")))
    results["create"] = args.pods / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(args.pods):
        objects.to_dict(reg.get("Pod", f"p{random.randrange(args.pods)}", "bench"))
    results["get"] = args.pods / (time.perf_counter() - start)
    namespace = "bench"
    if args.list_pods != args.pods:
        namespace = "list"
        for i in range(args.list_pods):
            reg.create(objects.from_dict(pod(f"l{i}", "list")))
    lists = max(5, 20000 // max(1, args.list_pods))
    start = time.perf_counter()
    for _ in range(lists):
        page = reg.list("Pod", namespace)
        json.dumps({"items": [objects.to_dict(p) for p in page.items]})
    results["list"] = lists / (time.perf_counter() - start)
    reg.create(objects.from_dict({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hot",
                                                                                        "namespace": "fan"}}))
    streams = [reg.watch("ConfigMap", "fan", str(store.revision)) for _ in range(args.watchers)]
    delays = []
    for n in range(1, args.events + 1):
        t0 = time.perf_counter()
        reg.patch("ConfigMap", "hot", {"data": {"n": str(n)}}, "fan")
        for s in streams:
            event = s.get(5)
            assert event is not None
            delays.append(time.perf_counter() - t0)
    for s in streams:
        s.stop()
    results["watch"] = (pct(delays, 0.5), pct(delays, 0.99))
    store.close()
    return results


def start_server() -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")}
    proc = subprocess.Popen([sys.executable, "-m", "apiserver", "--port", "0"], stdout=subprocess.PIPE, text=True,
                            env=env)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if "http://" not in line:
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return proc, line.strip().split()[-1]


def slo(args: argparse.Namespace) -> list[str]:
    """kube-apiserver's SLO anchors at --slo-nodes / --slo-pods, over HTTP to an in-process server."""
    import apiserver
    store = kvstore.open()
    reg = objects.Registry(store)
    t0 = time.perf_counter()
    for i in range(args.slo_nodes):
        reg.create(objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{i}"},
                                      "status": {"capacity": {"cpu": "32", "memory": "128Gi", "pods": "110"}}}))
    for i in range(args.slo_pods):
        reg.create(objects.from_dict(pod(f"s{i}", f"ns{i % 100}")))
    load_s = time.perf_counter() - t0
    lines = []
    with apiserver.serve(reg) as server:
        async def measure() -> tuple[list[float], list[float]]:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                async def mutate(i: int) -> None:
                    async with session.patch(f"{server.url}/api/v1/namespaces/ns{i % 100}/pods/s{i}",
                                             data=json.dumps({"metadata": {"labels": {"touched": "yes"}}}),
                                             headers={"Content-Type": "application/merge-patch+json"}) as r:
                        assert r.status == 200
                        await r.read()
                _, mut = await run_concurrently(500, 8, mutate)

                async def list_all(i: int) -> None:
                    async with session.get(f"{server.url}/api/v1/pods?limit=500") as r:
                        await r.read()  # a paginated first page, as informers list
                    async with session.get(f"{server.url}/api/v1/pods") as r:
                        body = await r.read()
                        assert r.status == 200 and body.count(b'"kind":"Pod"') == args.slo_pods
                _, lst = await run_concurrently(3, 1, list_all)
                return mut, lst

        mut, lst = asyncio.run(measure())
    store.close()
    lines.append(f"| SLO: mutating call (PATCH), {args.slo_nodes} nodes / {args.slo_pods} pods stored | "
                 f"p99 {pct(mut, 0.99) * 1000:.0f} ms | <= 1 s | loaded in {load_s:.0f} s |")
    lines.append(f"| SLO: list of every pod ({args.slo_pods}), unpaginated | p99 {pct(lst, 0.99):.1f} s | <= 30 s | |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--list-pods", type=int, default=1000)
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--slo-nodes", type=int, default=0)
    parser.add_argument("--slo-pods", type=int, default=0)
    args = parser.parse_args()
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.watchers + 256)), hard))
    except (ImportError, ValueError):
        pass
    load_before = os.getloadavg()
    proc, url = start_server()
    try:
        http = asyncio.run(http_bench(url, args))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    local = in_process(args)
    load_after = os.getloadavg()
    print(f"command: python benches/bench_apiserver.py {' '.join(sys.argv[1:])}")
    print(f"load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f} on {os.cpu_count()} CPUs")
    print()
    print("| operation | HTTP (apiserver, child process) | Registry in-process | HTTP / in-process |")
    print("| --- | --- | --- | --- |")
    for name, label in (("create", f"create pod ({args.concurrency} concurrent)"),
                        ("get", f"get pod ({args.concurrency} concurrent)"),
                        ("list", f"list {args.list_pods} pods (2 concurrent)")):
        rate, p99 = http[name]
        print(f"| {label} | {rate:,.0f}/s (p99 {p99 * 1000:.1f} ms) | {local[name]:,.0f}/s | "
              f"{rate / local[name]:.2f} |")
    p50, p99, received = http["watch"]
    lp50, lp99 = local["watch"]
    print(f"| watch fan-out: {args.watchers} watchers x {args.events} events, write-to-event delay | "
          f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms ({received} events) | p50 {lp50 * 1000:.1f} ms, "
          f"p99 {lp99 * 1000:.1f} ms | p99 x{p99 / lp99:.1f} |")
    if args.slo_pods or args.slo_nodes:
        for line in slo(args):
            print(line)


if __name__ == "__main__":
    main()

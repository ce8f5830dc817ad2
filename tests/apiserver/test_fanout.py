"""The watch fan-out: many watchers on one server each get every event, in order; closed watchers go away."""
from __future__ import annotations

import asyncio
import json

import aiohttp

import apiserver
import objects

WATCHERS = 200
EVENTS = 5


def test_every_watcher_gets_every_event_in_order(server: apiserver.Server, registry: objects.Registry) -> None:
    path = f"{server.url}/api/v1/namespaces/fan/configmaps"
    registry.create(objects.from_dict({"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "hot", "namespace": "fan"}}))
    start_rv = str(registry.store.revision)

    async def scenario() -> list[list[str]]:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            opened = [asyncio.Event() for _ in range(WATCHERS)]

            async def watch(ready: asyncio.Event) -> list[str]:
                seen: list[str] = []
                async with session.get(f"{path}?watch=1&resourceVersion={start_rv}&timeoutSeconds=60") as r:
                    ready.set()
                    async for line in r.content:
                        event = json.loads(line)
                        seen.append(f'{event["type"]}:{(event["object"].get("data") or {}).get("n")}')
                        if len(seen) == EVENTS:
                            return seen
                return seen

            tasks = [asyncio.create_task(watch(e)) for e in opened]
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 30)
            for n in range(EVENTS):
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda n=n: registry.patch("ConfigMap", "hot", {"data": {"n": str(n)}}, "fan"))
            return await asyncio.wait_for(asyncio.gather(*tasks), 60)

    results = asyncio.run(scenario())
    expected = [f"MODIFIED:{n}" for n in range(EVENTS)]
    assert all(seen == expected for seen in results), [s for s in results if s != expected][:3]


def _wait_for(condition, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_watches_that_end_or_whose_clients_leave_are_unsubscribed(server: apiserver.Server) -> None:
    assert _wait_for(lambda: server.open_watches == 0)  # what earlier tests left is gone too

    async def timed_out(session: aiohttp.ClientSession) -> bytes:
        async with session.get(f"{server.url}/api/v1/namespaces/gone/pods?watch=1&timeoutSeconds=1") as r:
            assert r.status == 200
            return await r.read()  # the server ends it at its timeout

    async def scenario() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            assert await asyncio.gather(*(timed_out(session) for _ in range(5))) == [b""] * 5
            responses = [await session.get(f"{server.url}/api/v1/namespaces/gone/pods?watch=1&timeoutSeconds=60")
                         for _ in range(20)]
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, _wait_for, lambda: server.open_watches == 20)
            for response in responses:
                response.close()  # the client leaves without reading

    asyncio.run(scenario())
    assert _wait_for(lambda: server.open_watches == 0)


def test_a_reader_too_far_behind_is_ended() -> None:
    from apiserver import fanout

    class Stream:
        def __init__(self) -> None:
            self.stopped = False

        def stop(self) -> None:
            self.stopped = True

    loop = asyncio.new_event_loop()
    try:
        queue: asyncio.Queue = asyncio.Queue()
        sub = fanout.Subscription(Stream(), "/pods/", lambda event, cache: b"", queue, False)
        for _ in range(fanout.MAX_PENDING_ROUNDS + 5):
            fanout._deliver([(sub, [b"line\n"], False)])
        assert sub.ended
        items = [queue.get_nowait() for _ in range(queue.qsize())]
        assert items.count(None) == 1 and items[-1] is None
        assert len(items) == fanout.MAX_PENDING_ROUNDS + 2  # bounded: nothing queued after the end
    finally:
        loop.close()

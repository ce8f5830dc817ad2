"""watch (``?watch=1``): newline-delimited JSON events over a chunked response.

Events are ``{"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR", "object": ...}``; BOOKMARKs only
with ``allowWatchBookmarks=true``; a resourceVersion older than the compaction is answered as
kube-apiserver does: 200, then one ERROR event carrying a 410 ``Expired`` Status. ``timeoutSeconds`` ends
the stream. With ``Accept: ...;as=Table`` each event's object is a one-row Table. ``sendInitialEvents=true``
(watch-list) sends the current objects, then a BOOKMARK annotated ``k8s.io/initial-events-end``.
"""
from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

import objects

from . import status, table
from .bodies import as_dict, dumps
from .context import Call, Context
from .errors import APIError, bad_request
from .fanout import Subscription
from .selectors import selectors

DEFAULT_TIMEOUT = 1800.0  # kube-apiserver's --min-request-timeout: watches end after 30-60 min


def _encoder(call: Call, as_table: bool) -> Any:
    res = call.res
    include = call.query.get("includeObject", "Metadata")

    variant = f"table:{include}" if as_table else "json"

    def encode(event: Any, cache: dict[tuple[int, str], Any]) -> bytes:
        if isinstance(event, Exception):
            error = status.from_objects_error(event, resource=res.resource, kind=res.kind, group=res.group) \
                if isinstance(event, objects.ObjectsError) else APIError(500, "InternalError", str(event))
            return b'{"type":"ERROR","object":' + dumps(error.status()) + b"}\n"
        if event.type == "BOOKMARK":
            obj: dict[str, Any] = {"kind": res.kind, "apiVersion": res.group_version,
                                   "metadata": {"resourceVersion": event.resource_version}}
            return b'{"type":"BOOKMARK","object":' + dumps(obj) + b"}\n"
        # The cache keeps the object with its bytes: an id() is unique only while its object lives, and an
        # event's object (a fresh decode for one that left a selector) may be freed before the round ends.
        key = (id(event.object), variant)
        hit = cache.get(key)
        if hit is not None and hit[0] is event.object:
            body = hit[1]
        else:
            d = as_dict(event.object)
            if as_table:
                meta = {"resourceVersion": d["metadata"].get("resourceVersion", "")}
                d = table.table([d], res.kind, meta, include)
            body = dumps(d)
            cache[key] = (event.object, body)
        return b'{"type":"' + event.type.encode() + b'","object":' + body + b"}\n"

    return encode


class _Initial:
    """A stream that first yields listed objects and a closing BOOKMARK, then a Registry stream's events
    (watch-list: ``sendInitialEvents=true``)."""

    def __init__(self, items: list[Any], resource_version: str, stream: Any) -> None:
        self._pending: list[Any] = [objects.WatchEvent("ADDED", obj, obj_rv(obj)) for obj in items]
        self._pending.append(_InitialEnd(resource_version))
        self._pending.reverse()
        self._stream = stream

    def get(self, timeout: float | None = None) -> Any:
        if self._pending:
            return self._pending.pop()
        return self._stream.get(timeout)

    def request_bookmark(self) -> None:
        self._stream.request_bookmark()

    def stop(self) -> None:
        self._stream.stop()


class _InitialEnd(objects.WatchEvent):
    def __init__(self, resource_version: str) -> None:
        super().__init__("BOOKMARK", None, resource_version)


def obj_rv(obj: Any) -> str:
    return str(obj["metadata"]["resourceVersion"] if isinstance(obj, dict) else obj.metadata.resource_version)


def _open(ctx: Context, call: Call) -> Any:
    """The Registry stream for this watch (blocking: it may list the current objects)."""
    labels, fields, extra = selectors(call)
    if extra is not None:
        raise bad_request("field selectors on " + ", ".join(t[0] for t in extra.terms) + " are served for lists, "
                          "not for watches")
    rv = call.query.get("resourceVersion") or None
    if call.flag("sendInitialEvents"):
        if call.query.get("resourceVersionMatch") != "NotOlderThan":
            raise bad_request("sendInitialEvents requires resourceVersionMatch=NotOlderThan")
        page = ctx.registry.list(call.res.kind, label_selector=labels, field_selector=fields, **call.scope())
        stream = ctx.registry.watch(call.res.kind, resource_version=page.resource_version, label_selector=labels,
                                    field_selector=fields, **call.scope())
        return _Initial(page.items, page.resource_version, stream)
    return ctx.registry.watch(call.res.kind, resource_version=rv, label_selector=labels, field_selector=fields,
                              **call.scope())


async def watch(ctx: Context, call: Call, request: web.Request) -> web.StreamResponse:
    """Serve one watch until its timeout, the client leaving, or the server stopping."""
    timeout = call.integer("timeoutSeconds")
    as_table = table.wants_table(call.accept)
    encode = _encoder(call, as_table)
    bookmarks = call.flag("allowWatchBookmarks")
    initial_end = call.flag("sendInitialEvents")
    try:
        stream = await ctx.run(_open, ctx, call)
        early: bytes | None = None
    except objects.Expired as exc:  # 200 then an ERROR event, as kube-apiserver answers an expired watch
        stream, early = None, encode(exc, {})
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json",
                                                       "Cache-Control": "no-cache, private"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    if stream is None:
        await response.write(early or b"")
        await response.write_eof()
        return response
    if initial_end:
        encode = _mark_initial_end(encode)
    queue: asyncio.Queue[Any] = asyncio.Queue()
    sub = Subscription(stream, f"/{ctx.registry.kind_info(call.res.kind).segment}/", encode, queue,
                       bookmarks or initial_end)
    ctx.fanout.subscribe(sub)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (timeout if timeout is not None and timeout > 0 else DEFAULT_TIMEOUT)
    try:
        try:
            # one deadline for the whole stream: no timer task per event (asyncio.wait_for makes one each time)
            async with asyncio.timeout_at(deadline):
                while True:
                    chunk = await queue.get()
                    if chunk is None:
                        break
                    await response.write(chunk)
        except TimeoutError:
            pass  # timeoutSeconds: the stream ends normally
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client left
    finally:
        ctx.fanout.unsubscribe(sub)
    return response


def _mark_initial_end(encode: Any) -> Any:
    """The BOOKMARK after the initial events carries the ``k8s.io/initial-events-end`` annotation."""

    def marked(event: Any, cache: dict[tuple[int, str], Any]) -> bytes:
        line = encode(event, cache)
        if isinstance(event, _InitialEnd):
            line = line.replace(b'"metadata":{', b'"metadata":{"annotations":{"k8s.io/initial-events-end":"true"},', 1)
        return line

    return marked

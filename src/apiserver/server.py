"""The HTTP server: aiohttp on an event loop in a background thread, Registry calls in a thread pool.

``serve(registry)`` returns a running :class:`Server` (``.url``, ``.stop()``, a context manager).
"""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

import objects

from .context import Context
from .dispatch import Dispatcher
from .fanout import Fanout
from .resources import Catalog

MAX_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's MaxRequestBodyBytes
WORKERS = 8
# kube-apiserver's bootstrap controller keeps these; clients take "default" for granted (kubectl, kopf).
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class Server:
    """A running API server. Stop it with :meth:`stop` or by leaving a ``with`` block."""

    def __init__(self, registry: Any, host: str = "127.0.0.1", port: int = 0, token: str | None = None, *,
                 bookmark_interval: float = 60.0, max_body_bytes: int = MAX_BODY_BYTES,
                 workers: int = WORKERS, system_namespaces: bool = True) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self.token = token
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apiserver")
        self._ctx = Context(registry, Catalog(registry), self._executor, max_body_bytes, bookmark_interval)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._system_namespaces = system_namespaces

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def open_watches(self) -> int:
        """How many watch requests are being served now."""
        return len(self._ctx.fanout) if self._ctx.fanout is not None else 0

    def start(self) -> "Server":
        """Create the system namespaces if missing, bind and start serving (returns once the port listens)."""
        if self._system_namespaces:
            self._ensure_namespaces()
        self._thread = threading.Thread(target=self._main, name="apiserver-loop", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._failure is not None:
            self._executor.shutdown(wait=False)
            raise self._failure
        return self

    def _ensure_namespaces(self) -> None:
        try:
            self.registry.kind_info("Namespace")
        except objects.NotFound:
            return
        for name in SYSTEM_NAMESPACES:
            try:
                self.registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": name}, "status": {"phase": "Active"}}))
            except objects.AlreadyExists:
                pass

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._start())
        except BaseException as exc:  # could not bind, ...: reported by start()
            self._failure = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._cleanup())
            loop.close()

    async def _start(self) -> None:
        ctx = self._ctx
        app = web.Application(client_max_size=ctx.max_body_bytes)
        app.router.add_route("*", "/{tail:.*}", Dispatcher(ctx, self.token).handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the port bound (port=0 picks a free one)
        ctx.server_address = f"{self.host}:{self.port}"
        ctx.fanout = Fanout(self.registry.store, asyncio.get_running_loop(), ctx.bookmark_interval)

    async def _cleanup(self) -> None:
        if self._ctx.fanout is not None:
            self._ctx.fanout.close()  # every watch ends
            await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        """Stop serving: open watches end, the port is released. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
        self._executor.shutdown(wait=True)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<apiserver.Server {self.url}>"


def serve(registry: Any, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
          **options: Any) -> Server:
    """Serve the Kubernetes API for ``registry`` on ``host:port`` (0: a free port); returns the running
    :class:`Server`. With ``token``, requests need ``Authorization: Bearer <token>``. Options:
    ``bookmark_interval`` (seconds between watch BOOKMARKs), ``max_body_bytes``, ``workers`` (threads for
    Registry calls), ``system_namespaces`` (create default, kube-system, kube-public, kube-node-lease)."""
    return Server(registry, host, port, token, **options).start()

"""Informers: a local cache of one kind kept current by list + watch, with event handlers and indexes,
as client-go's SharedIndexInformer (Reflector + DeltaFIFO + Indexer in one thread).

The informer lists, then watches from the list's resourceVersion; when the watch says the version is gone
(:class:`objects.Expired`, a compacted revision) it lists again and hands the handlers the difference
(adds, updates, deletes), so a handler never misses a change it could have seen. Handlers run on the
informer's thread, in the order of the events; a handler that raises is logged and the others still run.

``stop()`` ends the thread but keeps the cache and the resourceVersion: ``start()`` again resumes the watch
where it ended (relisting if that version was compacted meanwhile).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable

from objects import Expired, LabelSelector, Registry

from .keys import object_key, split_key

__all__ = ["Informer", "Lister", "SharedInformers", "Handler", "NAMESPACE_INDEX"]

log = logging.getLogger(__name__)

NAMESPACE_INDEX = "namespace"
WATCH_POLL = 0.2          # seconds between looks at the stop flag while the watch is quiet
RETRY_DELAY = (0.05, 2.0)  # a failing list / watch is retried after 50 ms doubling to 2 s
IndexFunc = Callable[[Any], Iterable[str]]
SameFunc = Callable[[Any, Any], bool]


class Handler:
    """One registered set of callbacks (any may be None)."""

    __slots__ = ("on_add", "on_update", "on_delete")

    def __init__(self, on_add: Callable[[Any], None] | None, on_update: Callable[[Any, Any], None] | None,
                 on_delete: Callable[[Any], None] | None) -> None:
        self.on_add, self.on_update, self.on_delete = on_add, on_update, on_delete


class Lister:
    """Read access to an informer's cache. Objects are shared: never mutate them (deepcopy first)."""

    def __init__(self, informer: "Informer") -> None:
        self._informer = informer

    def get(self, name: str, namespace: str | None = None) -> Any:
        """The cached object (``name`` may also be a whole key "ns/name"), or None."""
        key = name if namespace is None else f"{namespace}/{name}"
        with self._informer._lock:
            return self._informer._cache.get(key)

    def list(self, namespace: str | None = None, selector: LabelSelector | str | None = None) -> list[Any]:
        """Cached objects, in one namespace when given, matching ``selector`` (a LabelSelector or the
        ``kubectl -l`` text) when given."""
        if isinstance(selector, str):
            selector = LabelSelector.parse(selector)
        informer = self._informer
        with informer._lock:
            if namespace is None:
                items = list(informer._cache.values())
            else:
                keys = informer._indexes[NAMESPACE_INDEX][1].get(namespace, ())
                items = [informer._cache[k] for k in keys]
        if selector is None or selector.empty:
            return items
        return [o for o in items if selector.matches(o.metadata.labels)]

    def count(self, namespace: str | None = None) -> int:
        """How many objects are cached (in one namespace when given), without listing them: a handler
        asks it to learn cheaply that there is nothing to look through."""
        informer = self._informer
        with informer._lock:
            if namespace is None:
                return len(informer._cache)
            return len(informer._indexes[NAMESPACE_INDEX][1].get(namespace, ()))

    def by_index(self, index: str, value: str) -> list[Any]:
        """Cached objects whose index function gave ``value``; KeyError for an unknown index."""
        informer = self._informer
        with informer._lock:
            keys = informer._indexes[index][1].get(value, ())
            return [informer._cache[k] for k in keys]

    def keys(self) -> list[str]:
        """Every cached key."""
        with self._informer._lock:
            return list(self._informer._cache)


def _namespace_of(obj: Any) -> list[str]:
    namespace, _ = split_key(object_key(obj))
    return [namespace] if namespace is not None else []


class Informer:
    """List + watch of one kind into a cache; see the module documentation."""

    def __init__(self, registry: Registry, kind: str, *, namespace: str | None = None,
                 label_selector: Any = None, field_selector: Any = None, resync_period: float | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        registry.kind_info(kind)  # UnknownResourceType now for a kind the registry does not know
        self.registry, self.kind, self.namespace = registry, kind, namespace
        self._label_selector, self._field_selector = label_selector, field_selector
        self._resync_period = resync_period
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()              # the cache and indexes
        self._dispatch = threading.RLock()         # applying a change and calling the handlers
        self._cache: dict[str, Any] = {}
        self._indexes: dict[str, tuple[IndexFunc, dict[str, set[str]]]] = {NAMESPACE_INDEX: (_namespace_of, {})}
        self._handlers: list[Handler] = []
        # what _store and _remove walk for every event, rebuilt when a handler or an index is added: the
        # callbacks of each kind (no per-handler None test), the indexes other than the namespace one (an
        # update keeps the key, so its namespace value never moves)
        self._on_add: tuple[Callable[[Any], None], ...] = ()
        self._on_update: tuple[Callable[[Any, Any], None], ...] = ()
        self._on_delete: tuple[Callable[[Any], None], ...] = ()
        self._other_indexes: tuple[tuple[IndexFunc, dict[str, set[str]], SameFunc | None], ...] = ()
        self._same: dict[str, SameFunc | None] = {}
        self._resource_version: str | None = None
        self._synced = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stream: Any = None
        self.lister = Lister(self)
        self.relists = 0  # how many times the informer listed (1 + relists after an expired watch)
        self._next_resync: float | None = None  # set by each list when resync_period is given

    # ------------------------------------------------------------------ registration
    def add_handler(self, on_add: Callable[[Any], None] | None = None,
                    on_update: Callable[[Any, Any], None] | None = None,
                    on_delete: Callable[[Any], None] | None = None) -> None:
        """Register callbacks. Registered after the cache filled, the handler first gets ``on_add`` for
        every cached object (as client-go), on the caller's thread, before any later event."""
        handler = Handler(on_add, on_update, on_delete)
        with self._dispatch:
            if on_add is not None:
                with self._lock:
                    current = list(self._cache.values())
                for obj in current:
                    self._call(on_add, obj)
            self._handlers.append(handler)
            self._on_add = tuple(h.on_add for h in self._handlers if h.on_add is not None)
            self._on_update = tuple(h.on_update for h in self._handlers if h.on_update is not None)
            self._on_delete = tuple(h.on_delete for h in self._handlers if h.on_delete is not None)

    def paused(self) -> Any:
        """A context manager (re-entrant) during which no event reaches the handlers: for a caller that
        registers a callback of its own inside a handler it already registered, and hands it the cached
        objects first, as ``add_handler`` would."""
        return self._dispatch

    def add_index(self, name: str, fn: IndexFunc, same: SameFunc | None = None) -> None:
        """Maintain an index: ``fn(obj)`` gives the values ``lister.by_index(name, value)`` finds it under.
        ``same(old, new)``, when given, is True only when ``fn`` must give both versions of an object the same
        values (the parts it reads are the same objects: a status write keeps the metadata's lists and maps),
        so an update does not call ``fn`` twice to find out; a cheap test, for the indexes every event moves
        through."""
        with self._dispatch, self._lock:
            if name in self._indexes:
                raise ValueError(f"informer {self.kind}: index {name!r} already exists")
            values: dict[str, set[str]] = {}
            self._indexes[name] = (fn, values)
            self._same[name] = same
            self._other_indexes = tuple((*v, self._same.get(k)) for k, v in self._indexes.items()
                                        if k != NAMESPACE_INDEX)
            for key, obj in self._cache.items():
                for value in fn(obj):
                    values.setdefault(value, set()).add(key)

    def ensure_index(self, name: str, fn: IndexFunc, same: SameFunc | None = None) -> None:
        """``add_index`` unless an index of that name exists (controllers sharing an informer agree on
        what a name means)."""
        with self._dispatch:
            if name not in self._indexes:
                self.add_index(name, fn, same)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start (or resume) listing and watching on a daemon thread."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"informer-{self.kind}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (the cache stays; ``start`` resumes)."""
        self._stop.set()
        stream = self._stream
        if stream is not None:
            stream.stop()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def wait_synced(self, timeout: float) -> bool:
        """Wait until the first list has been handed to the handlers."""
        return self._synced.wait(timeout)

    @property
    def has_synced(self) -> bool:
        """Whether the first list has been handed to the handlers."""
        return self._synced.is_set()

    @property
    def running(self) -> bool:
        """Whether the informer's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def resource_version(self) -> int:
        """The store revision the cache reflects (0 before the first list)."""
        rv = self._resource_version
        return int(rv) if rv else 0

    def request_progress(self) -> None:
        """Ask the watch for a bookmark, so ``resource_version`` catches up with the store even when no
        object of this kind changes."""
        stream = self._stream
        if stream is not None:
            try:
                stream.request_bookmark()
            except Exception:  # noqa: BLE001 - a stream ending meanwhile: the next watch is current anyway
                pass

    # ------------------------------------------------------------------ the loop
    def _run(self) -> None:
        delay = RETRY_DELAY[0]
        while not self._stop.is_set():
            try:
                if self._resource_version is None:
                    self._relist()
                self._watch()
                delay = RETRY_DELAY[0]
            except Expired:
                log.info("informer %s: watch expired at %s, listing again", self.kind, self._resource_version)
                self._resource_version = None
            except Exception:  # noqa: BLE001 - the store may be closing or a follower catching up: retry
                if self._stop.is_set():
                    break
                log.exception("informer %s: list/watch failed; retrying in %.2fs", self.kind, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_DELAY[1])

    def _relist(self) -> None:
        listed = self.registry.list(self.kind, namespace=self.namespace, label_selector=self._label_selector,
                                    field_selector=self._field_selector, all_namespaces=self.namespace is None)
        fresh = {object_key(o): o for o in listed.items}
        with self._dispatch:
            with self._lock:
                gone = [obj for key, obj in self._cache.items() if key not in fresh]
            for obj in gone:
                self._remove(obj)
            for key, obj in fresh.items():
                old = self._cache.get(key)
                if old is not None and old.metadata.resource_version == obj.metadata.resource_version:
                    continue
                self._store(obj, old)
            self._resource_version = listed.resource_version
            self.relists += 1
            self._next_resync = self._clock() + self._resync_period if self._resync_period else None
        self._synced.set()

    def _watch(self) -> None:
        stream = self.registry.watch(self.kind, namespace=self.namespace, resource_version=self._resource_version,
                                     label_selector=self._label_selector, field_selector=self._field_selector,
                                     all_namespaces=self.namespace is None)
        self._stream = stream
        try:
            if self._stop.is_set():
                return
            # the loop runs once per batch of events (every one the watch queued while the handlers ran: one
            # wake-up of this thread for the lot), its inner loop once per event: what it calls is looked up once
            stopping, take, dispatch, cached = self._stop.is_set, stream.take, self._dispatch, self._cache.get
            while not stopping():
                if self._next_resync is not None:
                    self._resync_if_due()
                events = take(WATCH_POLL)
                if not events:
                    if stream.stopped:
                        return
                    continue
                with dispatch:
                    for event in events:
                        if stopping():
                            return  # the rest is watched again from _resource_version when started again
                        kind = event.type
                        if kind == "DELETED":
                            self._remove(event.object)
                        elif kind != "BOOKMARK":
                            obj = event.object
                            key = obj.key
                            self._store(obj, cached(key), key)
                        self._resource_version = event.resource_version
        finally:
            self._stream = None
            stream.stop()

    def _resync_if_due(self) -> None:
        due = self._next_resync
        if due is None or self._clock() < due:
            return
        with self._dispatch:
            with self._lock:
                current = list(self._cache.values())
            for obj in current:
                for handler in self._handlers:
                    if handler.on_update is not None:
                        self._call(handler.on_update, obj, obj)
            self._next_resync = self._clock() + (self._resync_period or 0)

    # ------------------------------------------------------------------ cache + handlers
    # _store and _remove run for every event of the kind (three or more per pod at saturation), so they are
    # written out flat: no call per handler or index beyond the callback itself
    def _store(self, obj: Any, old: Any, key: str | None = None) -> None:
        if key is None:
            key = object_key(obj)
        with self._lock:
            self._cache[key] = obj
            if old is None:
                namespace, sep, _ = key.partition("/")
                if sep:
                    self._indexes[NAMESPACE_INDEX][1].setdefault(namespace, set()).add(key)
                for fn, values, _ in self._other_indexes:
                    for value in fn(obj):
                        values.setdefault(value, set()).add(key)
            else:
                for fn, values, same in self._other_indexes:
                    if same is not None and same(old, obj):
                        continue
                    before, after = fn(old), fn(obj)
                    if before == after:
                        continue  # most updates (a status write) move no index value
                    for value in before:
                        keys = values.get(value)
                        if keys is not None:
                            keys.discard(key)
                            if not keys:
                                del values[value]
                    for value in after:
                        values.setdefault(value, set()).add(key)
        if old is None:
            for on_add in self._on_add:
                try:
                    on_add(obj)
                except Exception:  # noqa: BLE001 - one bad handler must not starve the others
                    log.exception("informer %s: handler %r failed", self.kind, on_add)
        else:
            for on_update in self._on_update:
                try:
                    on_update(old, obj)
                except Exception:  # noqa: BLE001 - one bad handler must not starve the others
                    log.exception("informer %s: handler %r failed", self.kind, on_update)

    def _remove(self, obj: Any) -> None:
        key = object_key(obj)
        with self._lock:
            old = self._cache.pop(key, None)
            if old is not None:
                self._unindex(key, old)
        for on_delete in self._on_delete:
            try:
                on_delete(obj)
            except Exception:  # noqa: BLE001 - one bad handler must not starve the others
                log.exception("informer %s: handler %r failed", self.kind, on_delete)

    def _unindex(self, key: str, obj: Any) -> None:
        for fn, values in self._indexes.values():
            for value in fn(obj):
                keys = values.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del values[value]

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - one bad handler must not starve the others
            log.exception("informer %s: handler %r failed", self.kind, fn)


class SharedInformers:
    """One informer per kind, shared by every controller (client-go's SharedInformerFactory)."""

    def __init__(self, registry: Registry, *, clock: Callable[[], float] | None = None,
                 resync_period: float | None = None) -> None:
        self.registry = registry
        self._clock = clock
        self._resync_period = resync_period
        self._informers: dict[str, Informer] = {}
        self._lock = threading.Lock()
        self._started = False

    def informer(self, kind: str) -> Informer:
        """The informer of ``kind`` (a Kind name such as "Pod"), created on first use; started at once
        when the factory is already started."""
        info = self.registry.kind_info(kind)
        with self._lock:
            informer = self._informers.get(info.kind)
            if informer is None:
                informer = Informer(self.registry, info.kind, clock=self._clock, resync_period=self._resync_period)
                self._informers[info.kind] = informer
                if self._started:
                    informer.start()
            return informer

    def informers(self) -> list[Informer]:
        """Every informer made so far."""
        with self._lock:
            return list(self._informers.values())

    def start(self) -> None:
        """Start every informer (and those asked for later, as they are made)."""
        with self._lock:
            self._started = True
            todo = list(self._informers.values())
        for informer in todo:
            informer.start()

    def stop(self) -> None:
        """Stop every informer."""
        with self._lock:
            self._started = False
            todo = list(self._informers.values())
        for informer in todo:
            informer._stop.set()
        for informer in todo:
            informer.stop()

    def wait_synced(self, timeout: float) -> bool:
        """Whether every informer listed within ``timeout`` seconds in all."""
        deadline = time.monotonic() + timeout
        for informer in self.informers():
            if not informer.wait_synced(max(0.0, deadline - time.monotonic())):
                return False
        return True

"""EventRecorder: v1 Events about objects, written in the background, as client-go's record package.

``recorder.event(obj, "Normal" | "Warning", reason, message)`` never blocks on the store and never raises
into the controller: events go through a bounded queue (1000, as the broadcaster's; more are dropped and
counted) to one writer thread. As the EventCorrelator: an event equal to one already written (same source,
object, type, reason, message) bumps that Event's ``count`` and ``lastTimestamp`` instead of writing a new
one; a token bucket per (source, object) (burst 25, one more each 5 minutes) drops a flood. Both caches
(events written, buckets) are LRUs of ``cache_size`` entries (4096, client-go's maxLruCacheEntries), so a
controller touching ever new objects does not grow them without bound; an entry used again moves to the
front, so an object still flooding keeps its bucket while idle ones are dropped.

Not done (kube's aggregation of 10 similar events into one "(combined from similar events)") is listed
in docs/controllers.md.
"""
from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from collections import OrderedDict
from typing import Any, Callable

from objects import Event, EventSource, ObjectMeta, ObjectReference, Registry

__all__ = ["EventRecorder", "NORMAL", "WARNING"]

log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"
QUEUE_SIZE = 1000
CACHE_SIZE = 4096           # the correlator's LRUs (written events, spam buckets): client-go's maxLruCacheEntries
SPAM_BURST, SPAM_REFILL = 25, 300.0
MAX_MESSAGE = 1024          # the API server truncates messages of this length (events are best effort)


def _rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class _Sink:
    """The writer thread and correlator shared by the recorders of one manager."""

    def __init__(self, registry: Registry, clock: Callable[[], float], cache_size: int = CACHE_SIZE,
                 tick: Callable[[], float] | None = None) -> None:
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"cache_size: invalid value {cache_size!r}: must be an integer >= 1")
        self.registry, self.clock, self.cache_size = registry, clock, cache_size
        self.tick = tick or clock   # the spam buckets' refill: a duration, on the monotonic clock by default
        self.queue: queue.Queue[Any] = queue.Queue(QUEUE_SIZE)
        self.written: OrderedDict[tuple, Event] = OrderedDict()
        self.buckets: OrderedDict[tuple, list[float]] = OrderedDict()
        self.dropped = 0
        self.pending = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def offer(self, item: tuple) -> None:
        with self._lock:
            if self._stopping:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="event-recorder", daemon=True)
                self._thread.start()
            try:
                self.queue.put_nowait(item)
                self.pending += 1
            except queue.Full:
                self.dropped += 1

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            try:
                self._write(*item)
            except Exception:  # noqa: BLE001 - events are best effort: log and go on
                log.warning("event %s dropped", item[3], exc_info=True)
                self.dropped += 1
            finally:
                with self._lock:
                    self.pending -= 1

    def _allowed(self, source: str, ref: ObjectReference, now: float) -> bool:
        key = (source, ref.kind, ref.namespace, ref.name, ref.uid)
        tokens, last = self.buckets.get(key, [float(SPAM_BURST), now])
        tokens = min(float(SPAM_BURST), tokens + (now - last) / SPAM_REFILL)
        allowed = tokens >= 1.0
        self.buckets[key] = [tokens - 1.0 if allowed else tokens, now]
        self.buckets.move_to_end(key)   # least recently used first: a flood in progress keeps its bucket
        if len(self.buckets) > self.cache_size:
            self.buckets.popitem(last=False)
        return allowed

    def _write(self, source: str, ref: ObjectReference, type_: str, reason: str, message: str) -> None:
        now = self.clock()
        if not self._allowed(source, ref, self.tick()):
            self.dropped += 1
            return
        namespace = ref.namespace or "default"
        key = (source, ref.kind, namespace, ref.name, ref.uid, type_, reason, message)
        previous = self.written.get(key)
        if previous is not None:
            bumped = copy.deepcopy(previous).replace(count=(previous.count or 1) + 1, last_timestamp=_rfc3339(now))
            try:
                stored = self.registry.update(bumped)
            except Exception:  # noqa: BLE001 - gone or changed meanwhile: write a new Event instead
                stored = None
            if stored is not None:
                self.written[key] = stored
                self.written.move_to_end(key)
                return
        event = Event(
            api_version="v1", kind="Event",
            metadata=ObjectMeta(name=f"{ref.name}.{time.time_ns():x}", namespace=namespace),
            involved_object=ref, reason=reason, message=message, source=EventSource(component=source),
            first_timestamp=_rfc3339(now), last_timestamp=_rfc3339(now), count=1, type=type_,
            reporting_component=source)
        stored = self.registry.create(event)
        self.written[key] = stored
        self.written.move_to_end(key)
        if len(self.written) > self.cache_size:
            self.written.popitem(last=False)

    def flush(self, timeout: float) -> bool:
        """Wait until every queued event was written (or dropped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.pending == 0:
                    return True
            time.sleep(0.01)
        return False

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._stopping = True
            thread = self._thread
        if thread is not None:
            try:
                self.queue.put(None, timeout=timeout)
            except queue.Full:
                return  # the writer is stuck on the store: it is a daemon thread, leave it
            thread.join(timeout)


class EventRecorder:
    """Record Events for ``component`` (``source.component``, e.g. "replicaset-controller"); ``cache_size``
    bounds each of the correlator's LRUs (see the module documentation)."""

    def __init__(self, registry: Registry, component: str, *, clock: Callable[[], float] | None = None,
                 enabled: bool = True, cache_size: int = CACHE_SIZE, _sink: _Sink | None = None) -> None:
        self.registry, self.component, self.enabled = registry, component, enabled
        # timestamps on the given clock (epoch); the spam buckets on it too when given, else on the monotonic
        # clock, so a step of the wall clock neither empties nor refills them
        self._sink = _sink or _Sink(registry, clock or time.time, cache_size, tick=clock or time.monotonic)

    def with_component(self, component: str) -> "EventRecorder":
        """A recorder for another component sharing this one's writer thread."""
        return EventRecorder(self.registry, component, enabled=self.enabled, _sink=self._sink)

    def event(self, obj: Any, type: str, reason: str, message: str) -> None:  # noqa: A002 - client-go's name
        """Record that ``reason`` happened to ``obj``; best effort, never raises."""
        event_type = type
        if not self.enabled:
            return
        try:
            if event_type not in (NORMAL, WARNING):
                log.warning("event %s for %s: type %r is not Normal or Warning", reason, obj, event_type)
                return
            meta = obj.metadata
            ref = ObjectReference(kind=obj.kind or obj.KIND, namespace=meta.namespace, name=meta.name,
                                  uid=meta.uid, api_version=obj.api_version, resource_version=meta.resource_version)
            self._sink.offer((self.component, ref, event_type, reason, message[:MAX_MESSAGE]))
        except Exception:  # noqa: BLE001 - recording must never break the controller
            log.warning("event %s not recorded", reason, exc_info=True)

    def eventf(self, obj: Any, type: str, reason: str, fmt: str, *args: Any) -> None:  # noqa: A002
        """``event`` with a %-formatted message."""
        self.event(obj, type, reason, fmt % args if args else fmt)

    @property
    def dropped(self) -> int:
        """Events dropped (queue full, spam filter, or a failed write)."""
        return self._sink.dropped

    @property
    def pending(self) -> int:
        """Events queued and not yet written."""
        return self._sink.pending

    @property
    def cached(self) -> int:
        """Entries the correlator holds (written events and spam buckets), at most twice ``cache_size``."""
        return len(self._sink.written) + len(self._sink.buckets)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event was written or dropped; False after ``timeout`` seconds."""
        return self._sink.flush(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued, then end the writer thread (shared: stops every sibling recorder)."""
        self._sink.flush(timeout)
        self._sink.stop(timeout)

"""The base every controller subclasses: informer handlers enqueue keys, workers sync them.

A subclass sets ``name`` (kube-controller-manager's name: "replicaset", "garbagecollector", ...), asks
``informers`` for the kinds it watches in ``__init__`` and registers handlers that call ``enqueue``; its
``sync(key)`` reads the listers and writes the difference through the Registry with resourceVersion
preconditions. A sync that raises is retried with the queue's per-key backoff; one that returns is
forgotten (its backoff reset).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from objects import Conflict, Registry

from .events import WARNING, EventRecorder
from .informer import SharedInformers
from .keys import object_key
from .workqueue import WorkQueue

__all__ = ["Controller"]

log = logging.getLogger(__name__)
GET_POLL = 0.5  # a worker looks at the stop flag at least this often


class Controller:
    """Base class; see the module documentation."""

    name: str = ""

    def __init__(self, registry: Registry, informers: SharedInformers, *, recorder: EventRecorder,
                 clock: Callable[[], float] | None = None) -> None:
        if not self.name:
            raise TypeError(f"{type(self).__name__} must set the class attribute name")
        self.registry = registry
        self.informers = informers
        self.recorder = recorder
        self.clock: Callable[[], float] = clock or time.time  # epoch seconds, as the Registry's clock
        # the queue's delays on the given clock (a test's), else on the monotonic one: a step of the wall
        # clock must not hold retries back (client-go's delaying queue runs on Go's monotonic time)
        self.queue = WorkQueue(self.name, clock=clock)
        self.metrics: Any = None  # a ControllerMetrics, set by the manager when it has one

    # ------------------------------------------------------------------ what subclasses write
    def sync(self, key: str) -> None:
        """Reconcile the object with this key; raise to have it retried with backoff."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers for handlers
    def enqueue(self, obj: Any) -> None:
        """Queue the key of ``obj``."""
        self.queue.add(object_key(obj))

    def enqueue_after(self, obj: Any, delay: float) -> None:
        """Queue the key of ``obj`` after ``delay`` seconds."""
        self.queue.add_after(object_key(obj), delay)

    def selects_all(self, owner: Any, kind_words: str) -> bool:
        """Whether ``owner``'s selector is missing or empty, i.e. would claim every pod of its namespace:
        then a SelectingAll warning is recorded (``kind_words`` as kube spells the kind in it, "daemon
        set") and the caller leaves the owner alone, as kube's workload controllers do."""
        selector = owner.spec.selector
        if selector is not None and not selector.empty:
            return False
        self.recorder.event(owner, WARNING, "SelectingAll",
                            f"This {kind_words} is selecting all pods. A non-empty selector is required.")
        return True

    # ------------------------------------------------------------------ workers
    def process_next(self, timeout: float | None = GET_POLL) -> bool:
        """Take one key and sync it; False when the queue had none within ``timeout`` or is shut down."""
        key = self.queue.get(timeout)
        if key is None:
            return False
        ok = False
        try:
            self.sync(key)
            ok = True
            self.queue.forget(key)
        except Conflict as exc:
            # a write from a cache that was one event behind: expected, the retry reads the newer object
            log.debug("%s: sync %s met a conflict, retrying: %s", self.name, key, exc)
            self.queue.add_rate_limited(key)
        except Exception:  # noqa: BLE001 - any failure: retry with backoff, keep the worker alive
            retries = self.queue.num_requeues(key)
            log.warning("%s: sync %s failed (retry %d)", self.name, key, retries + 1, exc_info=retries < 3)
            self.queue.add_rate_limited(key)
        finally:
            self.queue.done(key)
            if self.metrics is not None:
                self.metrics.sync(self.name, ok)
        return True

    def run_worker(self, stop: threading.Event) -> None:
        """Sync keys until ``stop`` is set or the queue shuts down."""
        while not stop.is_set() and not self.queue.shutting_down:
            self.process_next(GET_POLL)

    def background(self, stop: threading.Event) -> None:
        """Work that is not driven by keys (a periodic scan, say); the manager runs it on its own thread
        when a subclass overrides it, until ``stop`` is set."""

    def idle(self) -> bool:
        """False while work outside the queue is under way (``wait_idle`` waits for it)."""
        return True

    def shut_down(self) -> None:
        """Stop handing keys to workers (called by the manager on stop)."""
        self.queue.shut_down()

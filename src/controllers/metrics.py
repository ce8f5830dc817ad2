"""Prometheus metrics of the controllers, through prometheus-client (the extra ``borgkit[metrics]``).

One :class:`ControllerMetrics` per manager, on its own ``CollectorRegistry`` (so two managers in one
process do not mix their numbers): the workqueue metrics client-go exports, labelled ``name=<queue>``:
``workqueue_depth``, ``workqueue_adds_total``, ``workqueue_retries_total``,
``workqueue_queue_duration_seconds`` (added -> taken), ``workqueue_work_duration_seconds`` (taken ->
done); and ``controller_sync_total{name,result}``. ``text()`` is the exposition text in-process;
``serve(port)`` starts an HTTP endpoint on 127.0.0.1 only when asked.
"""
from __future__ import annotations

import ipaddress
from typing import Any

__all__ = ["ControllerMetrics", "QueueMetrics", "metrics_available", "MetricsUnavailable"]

# client-go's workqueue buckets: 10^-8 .. 10^1 seconds
DURATION_BUCKETS = tuple(10.0 ** e for e in range(-8, 2))


class MetricsUnavailable(RuntimeError):
    """prometheus-client is not installed (``pip install borgkit[metrics]``)."""


def metrics_available() -> bool:
    """Whether prometheus-client is installed (``pip install borgkit[metrics]``)."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


class QueueMetrics:
    """The measurements of one work queue (what :class:`controllers.workqueue.WorkQueue` calls)."""

    __slots__ = ("_depth", "_adds", "_retries", "_queue_duration", "_work_duration")

    def __init__(self, owner: "ControllerMetrics", name: str) -> None:
        self._depth = owner.depth.labels(name=name)
        self._adds = owner.adds.labels(name=name)
        self._retries = owner.retries.labels(name=name)
        self._queue_duration = owner.queue_duration.labels(name=name)
        self._work_duration = owner.work_duration.labels(name=name)

    def add(self) -> None:
        """A key was added (workqueue_adds_total)."""
        self._adds.inc()

    def depth(self, value: int) -> None:
        """The queue holds ``value`` keys now (workqueue_depth)."""
        self._depth.set(value)

    def retry(self) -> None:
        """A key was added rate limited (workqueue_retries_total)."""
        self._retries.inc()

    def got(self, waited: float) -> None:
        """A key waited ``seconds`` in the queue (workqueue_queue_duration_seconds)."""
        self._queue_duration.observe(waited)

    def done(self, worked: float) -> None:
        """A key's sync took ``seconds`` (workqueue_work_duration_seconds)."""
        self._work_duration.observe(worked)


class ControllerMetrics:
    """The metrics of one controller manager on a private CollectorRegistry."""

    def __init__(self) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        except ImportError as exc:
            raise MetricsUnavailable("controller metrics need prometheus-client: pip install 'borgkit[metrics]'") \
                from exc
        self.registry = CollectorRegistry()
        r = self.registry
        self.depth = Gauge("workqueue_depth", "Current depth of workqueue", ["name"], registry=r)
        self.adds = Counter("workqueue_adds", "Total number of adds handled by workqueue", ["name"], registry=r)
        self.retries = Counter("workqueue_retries", "Total number of retries handled by workqueue", ["name"],
                               registry=r)
        self.queue_duration = Histogram("workqueue_queue_duration_seconds",
                                        "How long in seconds an item stays in workqueue before being requested",
                                        ["name"], buckets=DURATION_BUCKETS, registry=r)
        self.work_duration = Histogram("workqueue_work_duration_seconds",
                                       "How long in seconds processing an item from workqueue takes",
                                       ["name"], buckets=DURATION_BUCKETS, registry=r)
        self.syncs = Counter("controller_sync", "Syncs of a controller by result (success, error)",
                             ["name", "result"], registry=r)
        self._server: Any = None

    def queue(self, name: str) -> QueueMetrics:
        """The measurements of the queue called ``name``."""
        return QueueMetrics(self, name)

    def sync(self, name: str, ok: bool) -> None:
        """One sync of controller ``name`` ended, ``ok`` or with an error (controller_sync_total)."""
        self.syncs.labels(name=name, result="success" if ok else "error").inc()

    def text(self) -> str:
        """Every metric in Prometheus' text exposition format."""
        from prometheus_client import generate_latest
        return generate_latest(self.registry).decode()

    def serve(self, port: int, addr: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` over HTTP on a loopback address (port 0: any free port); returns the port."""
        if not ipaddress.ip_address(addr).is_loopback:
            raise ValueError(f"metrics addr {addr!r}: must be a loopback address (127.0.0.1 or ::1)")
        if self._server is not None:
            raise RuntimeError(f"metrics already served on port {self._server[0].server_port}")
        from prometheus_client import start_http_server
        self._server = start_http_server(port, addr=addr, registry=self.registry)
        return int(self._server[0].server_port)

    def close(self) -> None:
        """Stop serving (when serving)."""
        if self._server is not None:
            server, thread = self._server
            server.shutdown()
            server.server_close()
            thread.join(5.0)
            self._server = None

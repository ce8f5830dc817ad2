"""Waiting pods: pods whose Permit plugins said Wait (kube-scheduler's ``waitingPodsMap``).

A waiting pod stays assumed on its node (its resources held, visible to later cycles) until every plugin
that asked it to wait calls ``allow(plugin_name)``, one of them calls ``reject(plugin_name, msg)``, or a
plugin's timeout passes (each plugin its own, at most ``MAX_PERMIT_TIMEOUT``: the shortest decides, as
kube-scheduler's per-plugin timers). The map only records verdicts; what follows (binding, or Unreserve and
requeueing) is the scheduler's, told through the ``on_verdict`` callback.

Time is the scheduler's injectable clock: ``expire()`` rejects the pods whose time is up and is called by
the scheduler (kube-scheduler's timers fire on their own; our scheduler is synchronous).
"""
from __future__ import annotations

import heapq
import itertools
from typing import Any, Callable, Iterator, Optional

from .status import Code, Status

__all__ = ["WaitingPod", "WaitingPods", "MAX_PERMIT_TIMEOUT", "go_duration", "waiting_pod_key"]

MAX_PERMIT_TIMEOUT = 15 * 60.0  # seconds; kube-scheduler's maxTimeout


def waiting_pod_key(pod: Any) -> str:
    """The waiting-pod map's key: the pod's UID, or "namespace/name" for pods fed without one."""
    return pod.metadata.uid or pod.key


def go_duration(seconds: float) -> str:
    """``time.Duration.String()`` for the durations a timeout takes: "500ms", "10s", "1m30s", "15m0s"."""
    if seconds < 1:
        return f"{round(seconds * 1000, 6):g}ms"
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    text = f"{round(rest, 9):g}s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text


class WaitingPod:
    """A pod waiting on Permit (``framework.WaitingPod``): ``pod``, ``node_name``, ``get_pending_plugins()``,
    ``allow(plugin_name)``, ``reject(plugin_name, msg)``; ``since``: when it began to wait (the clock's time)."""

    def __init__(self, pod: Any, node_name: str, timeouts: dict[str, float],
                 on_verdict: Callable[["WaitingPod"], None], since: float = 0.0) -> None:
        self.pod = pod
        self.node_name = node_name
        self.since = since
        self.timeouts = dict(timeouts)  # plugin name -> seconds it may wait (capped)
        self._pending = dict(timeouts)
        self._on_verdict = on_verdict
        self.verdict: Optional[Status] = None

    def get_pending_plugins(self) -> list[str]:
        """The plugins that asked the pod to wait and have not allowed it yet."""
        return list(self._pending)

    def allow(self, plugin_name: str) -> None:
        """``plugin_name`` lets the pod go on; once every waiting plugin did, the binding continues."""
        if self.verdict is not None:
            return
        self._pending.pop(plugin_name, None)
        if not self._pending:
            self._decide(Status())

    def reject(self, plugin_name: str, msg: str) -> None:
        """Refuse the pod: Unreserve runs and it goes back to the queue as unschedulable with ``msg``."""
        if self.verdict is None:
            self._decide(Status(Code.UNSCHEDULABLE, msg, plugin=plugin_name))

    def _decide(self, status: Status) -> None:
        self.verdict = status
        self._pending.clear()
        self._on_verdict(self)

    def __repr__(self) -> str:
        return f"WaitingPod({self.pod.key!r}, node={self.node_name!r}, pending={self.get_pending_plugins()!r})"


class WaitingPods:
    """The waiting pods by key (``waiting_pod_key``), with their deadlines in a heap."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._pods: dict[str, WaitingPod] = {}
        self._deadlines: list[tuple[float, int, str, str, WaitingPod]] = []  # (deadline, seq, key, plugin, pod)
        self._seq = itertools.count()

    def add(self, pod: Any, node_name: str, timeouts: dict[str, float],
            on_verdict: Callable[[WaitingPod], None]) -> WaitingPod:
        """Park ``pod`` (assumed on ``node_name``) until ``timeouts``' plugins allow it or time runs out."""
        now = self._clock()
        capped = {name: min(max(float(t), 0.0), MAX_PERMIT_TIMEOUT) for name, t in timeouts.items()}
        key = waiting_pod_key(pod)
        waiting = WaitingPod(pod, node_name, capped, on_verdict, since=now)
        self._pods[key] = waiting
        for name, timeout in capped.items():
            heapq.heappush(self._deadlines, (now + timeout, next(self._seq), key, name, waiting))
        return waiting

    def get(self, key: str) -> Optional[WaitingPod]:
        return self._pods.get(key)

    def remove(self, key: str) -> Optional[WaitingPod]:
        return self._pods.pop(key, None)

    def iterate(self, fn: Callable[[WaitingPod], None]) -> None:
        """Call ``fn`` on each waiting pod (a snapshot: ``fn`` may allow or reject them)."""
        for waiting in list(self._pods.values()):
            fn(waiting)

    def reject(self, key: str, msg: str, plugin_name: str = "") -> bool:
        """Reject the pod waiting under ``key``; False when none does."""
        waiting = self._pods.get(key)
        if waiting is not None:
            waiting.reject(plugin_name, msg)
        return waiting is not None

    def __iter__(self) -> Iterator[WaitingPod]:
        return iter(list(self._pods.values()))

    def __len__(self) -> int:
        return len(self._pods)

    def expire(self) -> int:
        """Reject every pod a plugin's timeout has passed for (kube-scheduler's message); returns how many."""
        heap = self._deadlines
        if not heap:
            return 0
        now = self._clock()
        count = 0
        while heap and heap[0][0] <= now:
            _, _, key, plugin, waiting = heapq.heappop(heap)
            if self._pods.get(key) is not waiting or plugin not in waiting._pending:
                continue  # resolved, replaced, or that plugin allowed it already
            waiting.reject(plugin, f"rejected due to timeout after waiting {go_duration(waiting.timeouts[plugin])} "
                                   f"at plugin {plugin}")
            count += 1
        return count

    def next_deadline(self) -> Optional[float]:
        """When the next timeout may fire (None when no pod waits)."""
        while self._deadlines:
            _, _, key, plugin, waiting = self._deadlines[0]
            if self._pods.get(key) is waiting and plugin in waiting._pending:
                return self._deadlines[0][0]
            heapq.heappop(self._deadlines)
        return None

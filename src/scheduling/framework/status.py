"""``Status``: what a plugin returns from an extension point, with kube-scheduler's codes.

Codes (``framework.Code``): ``SUCCESS``, ``ERROR`` (an internal failure), ``UNSCHEDULABLE`` (the pod does not
fit now; preemption may help), ``UNSCHEDULABLE_AND_UNRESOLVABLE`` (preemption cannot help), ``WAIT`` (Permit
only), ``SKIP`` (PreFilter / PreScore: the plugin has nothing to do for this pod, and its Filter / Score are
not called), ``PENDING`` (PreEnqueue: the pod is waiting for something outside the scheduler).

A ``None`` status means success everywhere, as a nil ``*Status`` does in Go; ``Status.is_success`` accepts
both. ``reasons`` are the strings kube-scheduler counts in "0/N nodes are available: ..." messages.
"""
from __future__ import annotations

import enum
from typing import Optional

__all__ = ["Code", "Status", "is_success", "SUCCESS"]


class Code(enum.IntEnum):
    """kube-scheduler's ``framework.Code`` values, in the same order."""

    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3
    WAIT = 4
    SKIP = 5
    PENDING = 6

    def __str__(self) -> str:
        return _CODE_NAMES[self]


_CODE_NAMES = {
    Code.SUCCESS: "Success", Code.ERROR: "Error", Code.UNSCHEDULABLE: "Unschedulable",
    Code.UNSCHEDULABLE_AND_UNRESOLVABLE: "UnschedulableAndUnresolvable", Code.WAIT: "Wait",
    Code.SKIP: "Skip", Code.PENDING: "Pending",
}


class Status:
    """The result of running a plugin: a ``code``, ``reasons`` and the ``plugin`` that failed (if any).

    Statuses are values: build a new one instead of changing one a plugin returned (the scheduler caches
    node-local filter statuses and shares them between pods).
    """

    __slots__ = ("code", "reasons", "plugin")

    def __init__(self, code: Code = Code.SUCCESS, *reasons: str, plugin: str = "") -> None:
        self.code: Code = code
        self.reasons: tuple[str, ...] = reasons
        self.plugin: str = plugin

    @classmethod
    def unschedulable(cls, *reasons: str) -> "Status":
        """``framework.NewStatus(framework.Unschedulable, reasons...)``."""
        return cls(Code.UNSCHEDULABLE, *reasons)

    @classmethod
    def unresolvable(cls, *reasons: str) -> "Status":
        """``framework.NewStatus(framework.UnschedulableAndUnresolvable, reasons...)``."""
        return cls(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, *reasons)

    @classmethod
    def error(cls, message: str) -> "Status":
        """``framework.AsStatus(err)``: an internal error."""
        return cls(Code.ERROR, message)

    @classmethod
    def skip(cls) -> "Status":
        """``framework.NewStatus(framework.Skip)``: one shared value (statuses are never changed), as most
        PreFilter and PreScore plugins skip most pods."""
        return _SKIP if cls is Status else cls(Code.SKIP)

    def with_plugin(self, plugin: str) -> "Status":
        """A copy naming the plugin that returned it (the runtime records this for messages and explain)."""
        return Status(self.code, *self.reasons, plugin=plugin)

    @property
    def is_success(self) -> bool:
        """Whether the code is Success."""
        return self.code == Code.SUCCESS

    @property
    def is_skip(self) -> bool:
        """Whether the code is Skip."""
        return self.code == Code.SKIP

    @property
    def is_rejected(self) -> bool:
        """Unschedulable, UnschedulableAndUnresolvable or Pending: the pod does not fit (not an error)."""
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE, Code.PENDING)

    @property
    def message(self) -> str:
        """The reasons joined by ", " (``Status.Message``)."""
        return ", ".join(self.reasons)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Status):
            return (self.code, self.reasons, self.plugin) == (other.code, other.reasons, other.plugin)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.code, self.reasons, self.plugin))

    def __repr__(self) -> str:
        plugin = f", plugin={self.plugin!r}" if self.plugin else ""
        return f"Status({self.code!s}, {list(self.reasons)!r}{plugin})"


SUCCESS = Status()
_SKIP = Status(Code.SKIP)


def is_success(status: Optional[Status]) -> bool:
    """True for ``None`` and for a Success status, as ``(*Status).IsSuccess`` on a nil pointer."""
    return status is None or status.code == Code.SUCCESS

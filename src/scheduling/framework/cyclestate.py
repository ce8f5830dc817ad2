"""``CycleState``: data plugins pass between extension points within one scheduling cycle of one pod.

Keys are strings (by convention ``"PreFilter" + plugin name``); values are plugin-owned objects. A plugin
that wants preemption to simulate removing pods implements ``clone()`` on its state value; ``CycleState.clone``
calls it when present (``StateData.Clone`` in Go) and shares the value otherwise.
"""
from __future__ import annotations

from typing import Any, Iterator

__all__ = ["CycleState"]


class CycleState:
    """A per-cycle key/value store; ``skip_filter_plugins`` / ``skip_score_plugins`` name plugins that
    returned Skip at PreFilter / PreScore."""

    __slots__ = ("_data", "skip_filter_plugins", "skip_score_plugins")

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self.skip_filter_plugins: set[str] = set()
        self.skip_score_plugins: set[str] = set()

    def read(self, key: str) -> Any:
        """The value written under ``key``; ``KeyError`` naming the key when nothing was written."""
        try:
            return self._data[key]
        except KeyError:
            raise KeyError(f"{key!r} not found in CycleState") from None

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key`` or ``default``."""
        return self._data.get(key, default)

    def write(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (replacing any earlier value)."""
        self._data[key] = value

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self._data.pop(key, None)

    def clone(self) -> "CycleState":
        """A copy whose plugin values are cloned when they know how (``clone()``)."""
        copy = CycleState()
        for key, value in self._data.items():
            clone = getattr(value, "clone", None)
            copy._data[key] = clone() if callable(clone) else value
        copy.skip_filter_plugins = set(self.skip_filter_plugins)
        copy.skip_score_plugins = set(self.skip_score_plugins)
        return copy

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

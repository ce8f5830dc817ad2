"""PrioritySort (QueueSort): higher ``spec.priority`` first, then the earlier enqueue time."""
from __future__ import annotations

from typing import Any

from ..framework import Plugin, QueueSortPlugin

__all__ = ["PrioritySort"]


class PrioritySort(Plugin, QueueSortPlugin):
    """``queuesort.PrioritySort``: ``less(a, b)`` when a's priority is higher, or equal and a came first."""

    name = "PrioritySort"

    def less(self, a: Any, b: Any) -> bool:
        pa, pb = a.pod.priority_value, b.pod.priority_value
        return pa > pb or (pa == pb and a.timestamp < b.timestamp)

    def sort_key(self, info: Any) -> tuple:
        return (-info.pod.priority_value, info.timestamp)

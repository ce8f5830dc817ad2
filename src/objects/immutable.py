"""The base of the value classes that never change once built (selectors, requirements, taints,
tolerations, quantities): a copy, shallow or deep, is the value itself, so copying an object that
holds them (every registry write copies) shares them instead of rebuilding them."""
from __future__ import annotations

from typing import Any, Self

__all__ = ["Immutable"]


class Immutable:
    """Mixed into an immutable value class: ``copy.copy`` and ``copy.deepcopy`` return the value."""

    __slots__ = ()

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self

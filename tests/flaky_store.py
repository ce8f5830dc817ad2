"""A store whose next calls fail with a transient error, for the tests of riding through such failures
(not a test module)."""
from __future__ import annotations

from typing import Any, Iterable

import kvstore


class FlakyStore:
    """A real in-memory store whose next ``failures`` calls of the named ``methods`` raise ``error`` (a
    kvstore transient error); every other attribute is the store's own."""

    def __init__(self, error: type[Exception], methods: Iterable[str] = ("get", "range", "txn", "watch")) -> None:
        self.inner = kvstore.open()
        self.error = error
        self.failures = 0
        self.methods = set(methods)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in self.methods:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.failures:
                self.failures -= 1
                raise self.error(f"injected {self.error.__name__}")
            return attr(*args, **kwargs)
        return call

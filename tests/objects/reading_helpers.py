"""The reading the fast reads replace, for differential tests (not a test module)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from objects import fieldtypes, listmemo


@contextmanager
def reference_reads() -> Iterator[None]:
    """Read as before objects.listmemo and check_json's copy without paths: every list of a model read
    item by item, every raw JSON value walked with its paths. Single-threaded tests only (it swaps
    module attributes)."""
    saved = listmemo.ListMemo.get, listmemo.ListMemo.put, fieldtypes._copy_checked

    def unfit(value: object, depth: int) -> object:
        raise fieldtypes._Unfit
    listmemo.ListMemo.get = lambda self, key: None  # type: ignore[method-assign]
    listmemo.ListMemo.put = lambda self, key, items: None  # type: ignore[method-assign]
    fieldtypes._copy_checked = unfit  # type: ignore[assignment]
    try:
        yield
    finally:
        listmemo.ListMemo.get, listmemo.ListMemo.put, fieldtypes._copy_checked = saved  # type: ignore[method-assign]


def exact(a: object, b: object) -> bool:
    """Equal with the same types all the way down (``1 == 1.0 == True`` and ``0.0 == -0.0`` are not
    enough: they are written differently)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return list(a) == list(b) and all(exact(a[k], b[k]) for k in a)  # type: ignore[index]
    if type(a) is list:
        return len(a) == len(b) and all(exact(x, y) for x, y in zip(a, b))  # type: ignore[arg-type]
    if type(a) is float:
        return repr(a) == repr(b)  # nan, -0.0
    return a == b

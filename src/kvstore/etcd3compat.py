"""python-etcd3's convenience names, as thin aliases of the etcd-named methods every store has.

etcd's names stay primary (``range(prefix, prefix=True)``, ``delete(prefix, prefix=True)``); these are for
code written against python-etcd3. Results are this package's (``KeyValue`` records, not python-etcd3's
``(value, metadata)`` tuples). ``put(key, lease=<Lease>)``, ``put(key, ignore_value=True)`` without a value
and ``Lease.refresh()`` / ``Lease.revoke()`` are accepted by the stores themselves.
"""
from __future__ import annotations

from typing import Any

from .types import DeleteResponse, KeyValue, SortOrder, SortTarget

__all__ = ["Etcd3Aliases"]


class Etcd3Aliases:
    """Mixed into :class:`kvstore.Store` and :class:`kvstore.remote.EtcdStore`."""

    range: Any
    delete: Any

    def get_prefix(self, key_prefix: bytes | str, *, sort_order: SortOrder = SortOrder.NONE,
                   sort_target: SortTarget = SortTarget.KEY, keys_only: bool = False,
                   revision: int | None = None) -> list[KeyValue]:
        """Every key starting with ``key_prefix``: ``range(key_prefix, prefix=True, ...).kvs``."""
        return self.range(key_prefix, prefix=True, sort_order=sort_order, sort_target=sort_target,  # type: ignore
                          keys_only=keys_only, revision=revision).kvs

    def delete_prefix(self, prefix: bytes | str, *, prev_kv: bool = False) -> DeleteResponse:
        """Delete every key starting with ``prefix`` in one revision: ``delete(prefix, prefix=True)``."""
        return self.delete(prefix, prefix=True, prev_kv=prev_kv)  # type: ignore[no-any-return]

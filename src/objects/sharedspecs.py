"""Pod specs validated and defaulted once per content, for the Registry's pod create.

Every pod of a ReplicaSet (and every pod of a benchmark's template) carries the same spec, and what the
API server's create does with a pod's spec (validation, defaulting, Priority and DefaultTolerationSeconds
admission: :func:`objects.defaulting.admitted_pod_spec`) depends on nothing but that spec and the stored
PriorityClasses. So the result of one create is the result of every create with the same spec bytes
while the PriorityClasses are unchanged: :class:`SharedSpecs` remembers the defaulted spec (a model, shared
by the pods created from it, as the objects of a registry's watch cache are shared: edit a deep copy) and
its stored dict, and a create that finds its spec there validates and defaults only the rest of the pod
(metadata, status, fields the model does not know). A spec that failed validation is never remembered, so
bad input takes the full path and gets its errors from it.

The key is the spec's msgpack with exact types (``strict_types``: a tuple or a subclass of a JSON type is
no key, the full path reads it), so two specs share an entry only if reading them is reading the same
JSON.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Hashable

import msgpack

from .defaulting import default_namespace
from .errors import ValidationError
from .meta import KubeObject

__all__ = ["SharedSpecs", "SPECS_REMEMBERED"]

SPECS_REMEMBERED = 256  # distinct specs kept (templates in use at once), oldest forgotten first

_Plain = Callable[[dict[str, Any]], "tuple[Any, dict[str, Any]]"]


class SharedSpecs:
    """Defaulted pod specs by (apiVersion, kind, spec bytes) for one PriorityClass state (``token``)."""

    __slots__ = ("_entries", "_token", "_capacity", "_lock")

    def __init__(self, capacity: int = SPECS_REMEMBERED) -> None:
        self._entries: dict[Hashable, tuple[Any, dict[str, Any]]] = {}
        self._token: Hashable = None
        self._capacity = capacity
        self._lock = threading.Lock()

    def encode(self, d: dict[str, Any], token: Hashable, plain: _Plain) -> tuple[Any, dict[str, Any]]:
        """The object and stored dict of the pod ``d``: ``plain(d)``'s (which validates and defaults all of
        it) the first time its spec is seen under ``token``, the same from the remembered spec after."""
        spec = d.get("spec")
        key = _key(d, spec)
        if key is None:
            return plain(d)
        entries = self._entries
        if token != self._token:
            with self._lock:
                if token != self._token:
                    entries.clear()
                    self._token = token
        hit = entries.get(key)
        if hit is not None:
            shared = _with_spec(d, *hit)
            if shared is not None:
                return shared
        obj, stored = plain(d)
        if isinstance(obj, KubeObject) and type(stored.get("spec")) is dict:
            with self._lock:
                if token == self._token:
                    entries[key] = (obj, stored["spec"])
                    if len(entries) > self._capacity:
                        del entries[next(iter(entries))]
        return obj, stored


def _key(d: dict[str, Any], spec: Any) -> Hashable:
    """(apiVersion, kind, the spec's exact msgpack), or None when there is no such key."""
    if type(spec) is not dict:
        return None
    api_version, kind = d.get("apiVersion"), d.get("kind")
    if type(api_version) is not str or type(kind) is not str:
        return None
    try:
        return api_version, kind, msgpack.packb(spec, use_bin_type=True, strict_types=True)
    except (TypeError, ValueError, OverflowError):
        return None


def _with_spec(d: dict[str, Any], first: Any, spec_dict: dict[str, Any]) -> Any:
    """The pod ``d`` read and defaulted with the spec of ``first`` (the first pod created with it) standing
    for its spec; None if the rest of it is not valid (the full path then reports every problem, the
    spec's included, as it always does)."""
    from .codec import from_dict  # late: the codec imports every kind
    rest = {k: v for k, v in d.items() if k != "spec"}
    try:
        partial = from_dict(rest)
    except ValidationError:
        return None
    cls = type(first)
    if type(partial) is not cls:
        return None
    partial = default_namespace(partial)
    share = getattr(partial, "with_spec_of", None)  # a Pod also shares the values derived from its spec
    obj = share(first) if share is not None else partial._copy(spec=first.spec)
    if type(obj).validate is not KubeObject.validate:  # its own cross-field rules may read the spec
        errs: list[Any] = []
        obj.validate("", errs)
        if errs:
            return None
    return obj, _stored(cls, partial.to_dict(), spec_dict)


_KEYS_BEFORE_SPEC: dict[type, frozenset[str]] = {}


def _stored(cls: type, partial_dict: dict[str, Any], spec_dict: dict[str, Any]) -> dict[str, Any]:
    """What ``to_dict()`` gives for the object, from the dict of the object without its spec (an absent
    spec is not written) and the spec's dict: the same keys in the same order (the fields in their
    declared order, then the unknown fields)."""
    before = _KEYS_BEFORE_SPEC.get(cls)
    if before is None:
        keys = [f.key for f in cls.FIELDS]  # type: ignore[attr-defined]
        before = _KEYS_BEFORE_SPEC[cls] = frozenset(keys[:keys.index("spec")])
    out: dict[str, Any] = {}
    for k, v in partial_dict.items():
        if "spec" not in out and k not in before:
            out["spec"] = spec_dict
        out[k] = v
    if "spec" not in out:
        out["spec"] = spec_dict
    return out

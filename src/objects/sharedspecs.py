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

The rest of such a pod (apiVersion, kind, metadata) is the same for every pod of a template too, but for
the name, uid and creationTimestamp each create sets: :class:`SharedSpecs` also remembers the pod read
from it without its spec, by the msgpack of the metadata without those three (and which of them are set),
and a pod whose rest finds an entry reads only those three values (their fields' own checks), gets fresh
copies of the remembered metadata's lists and maps, and is built and validated (the kind's rules: the name
is checked there) as reading it would build it. Only metadata the model reads whole (no unknown fields)
is remembered, and a value that fails its check takes the full read.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Hashable

import msgpack

from .defaulting import default_namespace
from .errors import ValidationError
from .meta import KubeObject, ObjectMeta
from .pod import Pod, PodStatus
from .schema import absent

__all__ = ["SharedSpecs", "SPECS_REMEMBERED"]

SPECS_REMEMBERED = 256  # distinct specs kept (templates in use at once), oldest forgotten first
# what Registry.create sets on each pod: read for every pod, the rest of the metadata once per content
_PER_POD = ("name", "uid", "creationTimestamp")
_NAME, _UID, _CREATED = (ObjectMeta._by_key[k].type for k in _PER_POD)  # type: ignore[attr-defined]
# the metadata's lists and maps, copied for each pod (the _reread below names them)
assert {f.attr for f in ObjectMeta.FIELDS if f.collection is not None} == {
    "labels", "annotations", "owner_references", "finalizers"}
_REST_KEYS = frozenset(("apiVersion", "kind", "metadata"))

_Plain = Callable[[dict[str, Any]], "tuple[Any, dict[str, Any]]"]


class SharedSpecs:
    """Defaulted pod specs by (apiVersion, kind, spec bytes) for one PriorityClass state (``token``)."""

    __slots__ = ("_entries", "_token", "_capacity", "_lock", "_partials")

    def __init__(self, capacity: int = SPECS_REMEMBERED) -> None:
        self._entries: dict[Hashable, tuple[Any, dict[str, Any]]] = {}
        self._partials: dict[bytes, Any] = {}  # pods without their spec, by _rest_key (any PriorityClasses)
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
            shared = _with_spec(d, *hit, self._partial)
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

    def _partial(self, rest: dict[str, Any]) -> tuple[Any, bool]:
        """(``from_dict(rest)`` of a pod without its spec, the metadata but for ``_PER_POD`` read once per
        content (see the module documentation), whether it was built from a remembered one: a Pod with no
        status, no unknown fields and apiVersion and kind set); ValidationError as from_dict."""
        key = _rest_key(rest)
        if key is not None:
            first = self._partials.get(key)
            if first is not None:
                obj = _reread(first, rest["metadata"])
                if obj is not None:
                    return obj, True
        from .codec import from_dict  # late: the codec imports every kind
        obj = from_dict(rest)
        if key is not None and _fit(obj):
            with self._lock:
                partials = self._partials
                partials[key] = obj
                if len(partials) > self._capacity:
                    del partials[next(iter(partials))]
        return obj, False


def _rest_key(rest: dict[str, Any]) -> bytes | None:
    """The msgpack (exact types) of apiVersion, kind, the metadata without ``_PER_POD`` and which of those
    are set; None when ``rest`` holds anything else or is no such key."""
    if rest.keys() != _REST_KEYS:
        return None
    meta = rest["metadata"]
    if type(meta) is not dict:
        return None
    same = meta.copy()
    name, uid, created = same.pop("name", None), same.pop("uid", None), same.pop("creationTimestamp", None)
    try:
        return msgpack.packb([rest["apiVersion"], rest["kind"], same, name is not None, uid is not None,
                              created is not None], use_bin_type=True, strict_types=True)  # type: ignore[no-any-return]
    except (TypeError, ValueError, OverflowError):
        return None


def _fit(obj: Any) -> bool:
    """Whether a pod without its spec may stand for others: a Pod with apiVersion and kind and no status,
    whose metadata the model reads whole (no unknown fields anywhere in it), so that copying its lists and
    maps copies everything."""
    if type(obj) is not Pod or obj.unknown_fields is not None or obj.api_version is None or obj.kind is None:
        return False
    meta = obj.metadata
    if type(meta) is not ObjectMeta or meta.unknown_fields is not None:
        return False
    return all(o is not None and o.unknown_fields is None for o in meta.owner_references)


def _reread(first: Any, meta: dict[str, Any]) -> Any:
    """What reading the pod ``first`` was read from gives with ``meta``'s ``_PER_POD`` values (the rest of
    ``meta`` being the same JSON), but for the spec's stand-in, first's (the caller puts the spec in): None
    when one of the values, or the kind's rules, find a problem. The metadata's own rules read only what
    ``first`` passed them with (annotations, ownerReferences)."""
    errs: list[Any] = []
    name, uid, created = meta.get("name"), meta.get("uid"), meta.get("creationTimestamp")
    if name is not None:
        name = _NAME.parse(name, "metadata", "name", errs)
    if uid is not None:
        uid = _UID.parse(uid, "metadata", "uid", errs)
    if created is not None:
        created = _CREATED.parse(created, "metadata", "creationTimestamp", errs)
    if errs:
        return None
    old = first.metadata
    # fresh lists and maps, as each read makes its own
    metadata = old._copy(name=name, uid=uid, creation_timestamp=created, labels=dict(old.labels),
                         annotations=dict(old.annotations), owner_references=[o._copy() for o in old.owner_references],
                         finalizers=list(old.finalizers))
    obj = first._copy(metadata=metadata, status=absent(PodStatus))
    obj.validate("", errs)  # the name rules
    return None if errs else obj


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


def _with_spec(d: dict[str, Any], first: Any, spec_dict: dict[str, Any],
               read: Callable[[dict[str, Any]], Any]) -> Any:
    """The pod ``d`` read (by ``read``: SharedSpecs._partial, or from_dict with False) and defaulted with the spec of
    ``first`` (the first pod created with it) standing for its spec; None if the rest of it is not valid
    (the full path then reports every problem, the spec's included, as it always does)."""
    rest = {k: v for k, v in d.items() if k != "spec"}
    try:
        partial, remembered = read(rest)
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
    if remembered:
        # what _stored(cls, partial.to_dict(), spec_dict) gives for it (no status or unknown fields to write),
        # without emitting the empty spec and status it stands in for
        return obj, {"apiVersion": partial.api_version, "kind": partial.kind, "metadata": partial.metadata.to_dict(),
                     "spec": spec_dict}
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

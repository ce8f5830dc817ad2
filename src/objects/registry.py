"""The Registry: the API server's storage layer for objects, on any kvstore store.

Objects live under the API server's keys (``/registry/pods/<namespace>/<name>``, see
:mod:`objects.storagekeys`) as msgpack of their JSON form, without ``resourceVersion``: an object's
``metadata.resourceVersion`` is the kvstore ``mod_revision`` of its key, filled in on every read, and a
list's is the store revision it read at. Every write is one kvstore transaction guarded by a compare
(``create_revision == 0`` for create, ``mod_revision == resourceVersion`` for update), so concurrent
writers cannot lose each other's updates: the loser gets :class:`Conflict` and retries on a fresh read.
"""
from __future__ import annotations

import copy
import json
import os
import random
import sys
import warnings
from typing import Any, Callable, Mapping

from kvstore import Compacted, Compare, FutureRevision, Op, RequestTooLarge

from .continuetoken import decode_continue, encode_continue
from .errors import (AlreadyExists, BadRequest, Conflict, Expired, FieldError, NotFound, UnknownResourceType,
                     ValidationError)
from .fields import FieldSelector
from .labels import LabelSelector
from .meta import Condition
from .mergepatch import apply_patch, parse_patch, three_way_patch
from .priorityclasses import PriorityClassView
from .recentobjects import RecentObjects
from .registrytypes import (LAST_APPLIED, UNSTRUCTURED, Codec, ObjectList, as_selector, check_segment, meta_of,
                            now_rfc3339, pack, retry_on_conflict, unpack)
from .registrywatch import WatchEvent, WatchStream
from .sharedspecs import SharedSpecs
from .storeerrors import served
from . import specwrite, statuswrite
from .storagekeys import BUILTIN_KINDS, REGISTRY_PREFIX, KindInfo, guess_kind
from .uids import new_uid
from .validation import dns1123_subdomain

__all__ = ["Registry", "ObjectList", "WatchEvent", "WatchStream", "UNSTRUCTURED", "Codec", "retry_on_conflict",
           "PROPAGATION_POLICIES", "ORPHAN_FINALIZER", "FOREGROUND_FINALIZER"]

# utilrand.String's alphabet: no vowels (no words), no confusable 0/1/3.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# generateName suffixes come from a seeded PRNG, as the API server's (utilrand.String, math/rand): a name
# is not a secret, a taken one is retried, and the secrets module's one os.urandom call per character made
# each controller create wait on the GIL about 16 times longer while other threads run.
_SUFFIX_RANDOM = random.Random()
_GENERATE_NAME_ATTEMPTS = 8
_PAGE = 256  # keys read per kvstore range while filling one list page
# Decoded objects remembered by (key, revision). A scheduler that writes a batch of bindings and victims'
# deletions before it reads their events lags by the batch: a window smaller than that lag decodes every
# event again (Preemption_5000Nodes e2e lags ~20,000 revisions; 8,192 cost a decode per event).
RECENT_OBJECTS = 32768


PROPAGATION_POLICIES = (None, "Background", "Foreground", "Orphan")
ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"


def _gc_finalizers(finalizers: list[str], policy: str, explicit: bool) -> list[str]:
    """The finalizers an object being deleted carries for ``policy`` (the API server's
    deletionFinalizersForGarbageCollection): Orphan adds ``orphan``, Foreground ``foregroundDeletion``;
    an explicit policy also drops the other one (an explicit Background drops both)."""
    wanted = {"Orphan": ORPHAN_FINALIZER, "Foreground": FOREGROUND_FINALIZER}.get(policy)
    out = [f for f in finalizers if not explicit or f not in (ORPHAN_FINALIZER, FOREGROUND_FINALIZER) or f == wanted]
    if wanted is not None and wanted not in out:
        out.append(wanted)
    return out


def _keep_admitted_tolerations(old: dict[str, Any], new: dict[str, Any]) -> None:
    """Carry over the not-ready / unreachable NoExecute tolerations admission added, when an update's spec
    has no NoExecute toleration for that taint."""
    from .defaulting import NOT_READY_TAINT, UNREACHABLE_TAINT
    tolerations = new.get("tolerations") if isinstance(new.get("tolerations"), list) else []
    kept = list(tolerations)
    for t in old.get("tolerations") or ():
        if isinstance(t, dict) and t.get("key") in (NOT_READY_TAINT, UNREACHABLE_TAINT) and \
                t.get("effect") == "NoExecute" and not any(
                    isinstance(u, dict) and u.get("key") in ("", None, t["key"]) and u.get("effect") in (
                        "", None, "NoExecute") for u in tolerations):
            kept.append(t)
    if len(kept) != len(tolerations):
        new["tolerations"] = kept


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _caller_stacklevel() -> int:
    """The ``warnings.warn`` stacklevel of the first frame outside this package (whatever wraps the call)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame, level = frame.f_back, level + 1
    return level


class Registry:
    """Typed object storage on a kvstore store, with the API server's semantics (see module doc).

    ``codec`` converts objects to and from their dict form (default: ``objects.codec``; pass
    :data:`UNSTRUCTURED` to store plain dicts). ``clock`` gives seconds since the epoch for
    creationTimestamp / deletionTimestamp.
    """

    def __init__(self, store: Any, *, codec: Codec | None = None, clock: Callable[[], float] | None = None,
                 prefix: str = REGISTRY_PREFIX) -> None:
        self.store = store
        self._models = codec is None  # the models' codec: writes get the API server's defaulting
        if codec is None:
            from . import codec as default_codec  # imported late: the codec imports every kind
            codec = default_codec  # type: ignore[assignment]
        self._codec: Codec = codec  # type: ignore[assignment]
        if clock is None:
            import time
            clock = time.time
        self._clock = clock
        self._root = prefix.rstrip("/")
        self._kinds: dict[str, KindInfo] = {}
        self._priority_view: PriorityClassView | None = None
        # Plain dicts (the unstructured codec) are mutable, so only model objects are shared.
        self._recent: RecentObjects | None = RecentObjects(RECENT_OBJECTS) if self._models else None
        # status writes encode only the status (objects.statuswrite); off: every write takes the general path
        self._status_fast = self._models
        # plain updates and patches skip the whole-object deepcopy and the second unpack of what they encode
        # (_update_copy, _write); off: the general path's copies, for the tests comparing both
        self._update_fast = self._models
        self._specs = SharedSpecs()  # pod specs validated and defaulted once per content (create)
        self._scheduled = Condition(type="PodScheduled", status="True")  # the bind's, of the last stamp
        self._scheduled_dict = self._scheduled.to_dict()
        for info in BUILTIN_KINDS:
            self.register_kind(info)

    @property
    def prefix(self) -> str:
        """The key prefix every object lives under ("/registry" unless given)."""
        return self._root

    # ------------------------------------------------------------------ kinds
    def register_kind(self, info: KindInfo) -> None:
        """Teach the registry a kind (a custom resource, say): reachable by Kind name, resource, singular
        and short names, as kubectl resolves them (any case: "Pod", "pods", "pod", "po", "PODS")."""
        for name in info.names():
            self._kinds[name] = info
            self._kinds.setdefault(name.lower(), info)

    def kind_info(self, kind: str) -> KindInfo:
        """The storage layout for a Kind name ("Pod"), resource ("pods"), singular ("pod") or short name
        ("po"). :class:`UnknownResourceType` for any other name (not NotFound: a typo is not a missing
        object)."""
        info = self._kinds.get(kind) if type(kind) is str else None
        if info is None:
            if not isinstance(kind, str):
                raise ValidationError(FieldError("kind", "must be a Kind or resource name (a string)",
                                                 type(kind).__name__))
            info = self._kinds.get(kind.lower())
            if info is None:
                raise UnknownResourceType(f'the server doesn\'t have a resource type "{kind}"')
        return info

    def _model_dict(self, obj: Any, operation: str) -> dict[str, Any]:
        """The dict form of an object handed to a write; a typed error for anything the codec cannot take
        (a dict given to the models' registry, say), before anything is written."""
        if self._models and not hasattr(type(obj), "to_dict"):
            raise ValidationError(FieldError(
                "<object>", f"{operation} takes a model object (objects.from_dict(d) builds one from a dict)",
                type(obj).__name__))
        return self._codec.to_dict(obj)

    def _info_for(self, obj: Any, d: dict[str, Any]) -> KindInfo:
        kind = d.get("kind")
        if not isinstance(kind, str) or not kind:
            raise ValidationError(FieldError("kind", "", type="Required value"))
        info = self._kinds.get(kind)
        if info is None:
            cls = type(obj)
            namespaced = getattr(cls, "NAMESPACED", None)
            if namespaced is None:
                namespaced = bool(meta_of(d).get("namespace"))
            info = guess_kind(kind, str(d.get("apiVersion") or ""), bool(namespaced),
                              str(getattr(cls, "RESOURCE", "") or ""))
            self.register_kind(info)
        return info

    # ------------------------------------------------------------------ decoding
    def _decode(self, kv: Any, resource_version: int | None = None) -> Any:
        return self._object(kv.key, kv.value, resource_version or kv.mod_revision)

    def _object(self, key: bytes, value: bytes, revision: int, d: dict[str, Any] | None = None,
                remember: bool = True) -> Any:
        """The object stored at ``key`` with ``value`` at ``revision``, decoded once per revision (while
        remembered; ``remember``: keep it when decoded)."""
        cache = self._recent
        if cache is not None:
            hit = cache.get((key, revision))
            if hit is not None:
                return hit
        return self._decoded(key, value, revision, d, remember)

    def _decoded(self, key: bytes, value: bytes, revision: int, d: dict[str, Any] | None, remember: bool) -> Any:
        """``_object`` when the object is not remembered: decode it, remember it."""
        cache = self._recent
        if d is None:
            d = unpack(value)
            meta_of(d)["resourceVersion"] = str(revision)
        obj = self._codec.from_dict(d)
        if cache is not None:
            cache.put((key, revision), obj, strong=remember)
        return obj

    def _watched(self, key: bytes, value: bytes, revision: int, d: dict[str, Any] | None = None) -> Any:
        """``_object`` for watch events. A watcher that fell behind every remembered revision reads in
        revision order: remembering what it decodes would evict the very entries it reads next (each of its
        reads a miss), so what it decodes is not remembered until it reaches the remembered window."""
        cache = self._recent
        if cache is None:
            return self._object(key, value, revision, d)
        hit = cache.get((key, revision))
        if hit is not None:
            return hit  # the common case: the write that made the event remembered its object
        oldest = cache.oldest()
        behind = oldest is not None and revision < oldest[1]  # type: ignore[index]
        return self._decoded(key, value, revision, d, remember=not behind)

    @staticmethod
    def _decode_dict(kv: Any, resource_version: int | None = None) -> dict[str, Any]:
        d = unpack(kv.value)
        meta_of(d)["resourceVersion"] = str(resource_version or kv.mod_revision)
        return d

    def _encode(self, d: dict[str, Any], admit_pod: bool = False) -> tuple[Any, bytes]:
        """Validate (and default) through the codec; returns the object and the bytes to store.

        ``admit_pod``: also resolve priority from the stored PriorityClasses, as the API server's
        Priority admission plugin does when a pod is created.
        """
        obj, stored = self._encode_dict(d, admit_pod)
        return obj, pack(stored)

    def _encode_dict(self, d: dict[str, Any], admit_pod: bool = False) -> tuple[Any, dict[str, Any]]:
        """``_encode`` before packing: the object and the dict to store (the caller's to change, not shared
        with ``d``)."""
        meta_of(d).pop("resourceVersion", None)
        if self._models and admit_pod:
            token, classes = self._priority_state()
            obj, stored = self._specs.encode(d, token, lambda pod: self._validated(pod, classes))
        else:
            obj, stored = self._validated(d, None)
        meta_of(stored).pop("resourceVersion", None)
        return obj, stored

    def _validated(self, d: dict[str, Any], classes: dict[str, Any] | None) -> tuple[Any, dict[str, Any]]:
        """The object the codec reads from ``d`` (validated; with the models also defaulted, ``classes``
        for Priority admission) and its dict."""
        if self._models:
            obj = self._codec.from_dict(d, defaults=True, priority_classes=classes)  # type: ignore[call-arg]
        else:
            obj = self._codec.from_dict(d)
        return obj, self._codec.to_dict(obj)

    def _with_version(self, key: str, data: bytes, revision: int, obj: Any = None) -> Any:
        """The stored object at ``revision``: ``obj`` (just validated from ``data``) with its
        resourceVersion set when the models' ``replace`` allows, else decoded from ``data``; remembered
        so watchers of this registry get it without decoding again."""
        if obj is not None and self._models:
            # only the resourceVersion changes: derived values (a pod's requests, a node's allocatable) are
            # carried over, not computed again
            result = obj._copy(metadata=obj.metadata._copy(resource_version=str(revision)))
            if self._recent is not None:
                self._recent.put((key.encode(), revision), result)
            return result
        return self._object(key.encode(), data, revision)

    def _key(self, info: KindInfo, name: str, namespace: str | None) -> str:
        if not isinstance(name, str):
            if name is None:
                raise ValidationError(FieldError("metadata.name", "name is required", type="Required value"))
            raise ValidationError(FieldError("metadata.name", "must be a string", type(name).__name__))
        if not name:
            raise ValidationError(FieldError("metadata.name", "name is required", type="Required value"))
        check_segment("metadata.name", name)
        check_segment("metadata.namespace", namespace)
        return info.key(name, namespace, self._root)

    @staticmethod
    def _scope(info: KindInfo, namespace: str | None, all_namespaces: bool, operation: str) -> str | None:
        """The namespace a list or watch reads (None: all). ``namespace=None`` without ``all_namespaces``
        still means all namespaces, with a DeprecationWarning: get and delete read it as "default"."""
        if all_namespaces:
            if namespace is not None:
                raise ValidationError(FieldError("namespace", "must not be given with all_namespaces=True",
                                                 namespace))
            return None
        if namespace is None and info.namespaced:
            warnings.warn(f"{operation}({info.resource!r}) without a namespace reads every namespace: pass "
                          "all_namespaces=True for that (kubectl -A), or a namespace; namespace=None will mean "
                          '"default" as it does for get and delete', DeprecationWarning,
                          stacklevel=_caller_stacklevel())
        return namespace

    def _prefix(self, info: KindInfo, namespace: str | None) -> str:
        check_segment("metadata.namespace", namespace)
        return info.prefix(namespace, self._root)

    # ------------------------------------------------------------------ create / get
    @served
    def create(self, obj: Any) -> Any:
        """Store a new object: sets uid, creationTimestamp, generation 1 and resourceVersion; a
        ``generateName`` gets a random 5-character suffix. AlreadyExists if the name is taken."""
        d = self._model_dict(obj, "create")
        info = self._info_for(obj, d)
        meta = meta_of(d)
        if meta.get("resourceVersion"):
            raise ValidationError(FieldError("metadata.resourceVersion",
                                             "resourceVersion should not be set on objects to be created",
                                             meta["resourceVersion"]))
        if info.namespaced:
            meta["namespace"] = meta.get("namespace") or "default"
        generated = not meta.get("name") and bool(meta.get("generateName"))
        for _ in range(_GENERATE_NAME_ATTEMPTS if generated else 1):
            if generated:
                # names.SimpleNameGenerator: the prefix is cut to 58 characters so the name fits in 63.
                meta["name"] = str(meta["generateName"])[:58] + "".join(
                    _SUFFIX_RANDOM.choices(_SUFFIX_ALPHABET, k=5))
            meta["uid"] = new_uid()
            meta["creationTimestamp"] = now_rfc3339(self._clock)
            meta["generation"] = 1
            for system_field in ("deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(system_field, None)
            obj, data = self._encode(d, admit_pod=info.kind == "Pod")
            key = self._key(info, meta.get("name"), meta.get("namespace"))
            response = self._txn([Compare.create_revision(key) == 0], [Op.put(key, data)], [])
            if response.succeeded:
                return self._with_version(key, data, response.revision, obj)
        raise AlreadyExists(f'{info.resource} "{meta.get("name")}" already exists')

    @served
    def apply(self, obj: Any) -> Any:
        """Create the object, or bring the stored one to it: ``kubectl apply``'s client-side apply.

        The configuration is remembered in the ``kubectl.kubernetes.io/last-applied-configuration``
        annotation. When the object exists, the fields of ``obj`` are set, fields of the previous
        configuration that ``obj`` no longer has are removed, and fields others set (a controller's, the
        scheduler's ``nodeName``) are kept: a three-way merge, written from the stored resourceVersion
        whatever ``obj`` carries (retried on concurrent writes). Applying the same object again changes
        nothing and keeps the resourceVersion. Difference: lists are replaced whole, as a JSON merge patch
        does (kubectl merges some lists of built-in kinds by key with a strategic merge patch).
        """
        config = self._model_dict(obj, "apply")
        info = self._info_for(obj, config)
        meta = meta_of(config)
        for system_field in ("resourceVersion", "uid", "creationTimestamp", "generation", "deletionTimestamp",
                             "deletionGracePeriodSeconds"):
            meta.pop(system_field, None)
        annotations = meta.get("annotations")
        annotations = {k: v for k, v in annotations.items() if k != LAST_APPLIED} if isinstance(
            annotations, dict) else {}
        if annotations:
            meta["annotations"] = annotations
        else:
            meta.pop("annotations", None)
        remembered = json.dumps(config, sort_keys=True, separators=(",", ":"))  # the configuration, as kubectl
        meta["annotations"] = {**annotations, LAST_APPLIED: remembered}
        name = meta.get("name")
        namespace = (meta.get("namespace") or "default") if info.namespaced else None
        try:
            return self.create(self._codec.from_dict(copy.deepcopy(config)))
        except AlreadyExists:
            pass
        key = self._key(info, name, namespace)
        while True:
            kv = self.store.get(key)
            if kv is None:  # deleted meanwhile: create it again
                try:
                    return self.create(self._codec.from_dict(copy.deepcopy(config)))
                except AlreadyExists:
                    continue
            old = unpack(kv.value)
            try:
                previous = json.loads((meta_of(old).get("annotations") or {}).get(LAST_APPLIED) or "{}")
            except ValueError:
                previous = {}
            patched = apply_patch(old, three_way_patch(previous, config), name, namespace)
            merged = self._apply_update(info, old, patched, False)
            result = self._write(info, key, kv, old, merged, spec_bumps_generation=True)
            if result is not None:
                return result

    @served
    def get(self, kind: str, name: str, namespace: str | None = None) -> Any:
        """The object, with its resourceVersion; NotFound if there is none."""
        info = self.kind_info(kind)
        kv = self.store.get(self._key(info, name, namespace))
        if kv is None:
            raise NotFound(f'{info.resource} "{name}" not found')
        return self._decode(kv)

    # ------------------------------------------------------------------ list
    @served
    def list(self, kind: str, namespace: str | None = None,
             label_selector: LabelSelector | str | None = None,
             field_selector: FieldSelector | str | None = None,
             limit: int = 0, continue_: str | None = None, resource_version: str | None = None, *,
             all_namespaces: bool = False) -> ObjectList:
        """Objects of a kind in one namespace, or in all with ``all_namespaces=True`` (kubectl's ``-A``),
        filtered by selectors, ``limit`` per page.

        Pages of one list read the snapshot of the first page (the continue token pins its revision);
        a token whose revision was compacted raises :class:`Expired`, as the API server answers 410.
        ``resource_version`` reads the state at that revision (``resourceVersionMatch=Exact``; "0" or
        None: the latest).
        """
        info = self.kind_info(kind)
        namespace = self._scope(info, namespace, all_namespaces, "list")
        labels = as_selector(label_selector, LabelSelector)
        fields = as_selector(field_selector, FieldSelector)
        if type(limit) is not int or limit < 0:
            raise ValidationError(FieldError("limit", "must be a non-negative integer", repr(limit)))
        prefix = self._prefix(info, namespace)
        start_key, revision = prefix, 0
        if continue_:
            start, revision = decode_continue(continue_)
            start_key = prefix + start
        elif resource_version not in (None, "", "0"):
            revision = self._parse_rv(resource_version)
        end_key = prefix[:-1] + chr(ord("/") + 1)
        items: list[Any] = []
        last_key: str | None = None
        more = False
        while True:
            page = max(_PAGE, limit * 2) if limit else 0
            response = self._range_at(start_key, end_key, page, revision, bool(continue_))
            revision = revision or response.revision
            for kv in response.kvs:
                if limit and len(items) >= limit:
                    more = True
                    break
                last_key = kv.key.decode()
                d = self._decode_dict(kv)
                if labels is not None and not labels.matches(d["metadata"].get("labels")):
                    continue
                if fields is not None and not fields.matches(d):
                    continue
                items.append(self._object(kv.key, kv.value, kv.mod_revision, d))
            if more or not response.more:
                break
            start_key = response.kvs[-1].key.decode() + "\x00"
        if not (more and last_key is not None):
            return ObjectList(items, str(revision), None, None)
        resume = last_key + "\x00"
        remaining = None
        if labels is None and fields is None:
            remaining = self.store.range(resume, end_key, revision=revision, count_only=True).count
        return ObjectList(items, str(revision), encode_continue(resume[len(prefix):], revision), remaining)

    def _range_at(self, start: str, end: str, limit: int, revision: int, continuing: bool) -> Any:
        try:
            return self.store.range(start, end, limit=limit, revision=revision or None)
        except Compacted:
            if continuing:
                raise Expired("The provided continue parameter is too old to display a consistent list "
                              "result. You can start a new list without the continue parameter.") from None
            raise Expired(f"too old resource version: {revision}") from None
        except FutureRevision:
            raise ValidationError(FieldError("resourceVersion" if not continuing else "continue",
                                             f"Too large resource version: current: {self.store.revision}",
                                             str(revision))) from None

    # ------------------------------------------------------------------ update
    @served
    def update(self, obj: Any) -> Any:
        """Replace an object. With ``metadata.resourceVersion`` set, only if it is still current (else
        :class:`Conflict`); without it, unconditionally (the API server's unconditional update).
        Status is kept for kinds with a status subresource; a spec change bumps ``generation``."""
        return self._update(obj, status_only=False)

    @served
    def update_status(self, obj: Any) -> Any:
        """Replace only the status of an object (the ``/status`` subresource), same concurrency rules."""
        return self._update(obj, status_only=True)

    def _update(self, obj: Any, status_only: bool) -> Any:
        if status_only and self._status_fast:
            result = self._update_status_as_read(obj)
            if result is not statuswrite.FALLBACK:
                return result
        elif not status_only and self._update_fast:
            result = self._update_spec_as_read(obj)
            if result is not specwrite.FALLBACK:
                return result
        new = self._model_dict(obj, "update_status" if status_only else "update")
        info = self._info_for(obj, new)
        meta = meta_of(new)
        key = self._key(info, meta.get("name"), meta.get("namespace") if info.namespaced else None)
        wanted = meta.get("resourceVersion")
        precondition = self._parse_rv(wanted) if wanted else None
        while True:
            kv = self._current(info, key, meta.get("name"), precondition)
            old = unpack(kv.value)
            if status_only and self._status_fast:
                if meta.get("uid") and meta["uid"] != meta_of(old).get("uid"):  # as _apply_update
                    raise ValidationError(FieldError("metadata.uid", "field is immutable", meta["uid"]))
                result = self._write_status(key, kv, old, new["status"] if "status" in new
                                            else statuswrite.ABSENT_STATUS)
                if result is not statuswrite.FALLBACK:
                    if result is not None:
                        return result
                    if precondition is not None:
                        raise self._conflict(info, meta.get("name"))
                    continue
            merged = self._apply_update(info, old, self._update_copy(info, new, status_only), status_only)
            result = self._write(info, key, kv, old, merged, spec_bumps_generation=not status_only)
            if result is not None:
                return result
            if precondition is not None:
                raise self._conflict(info, meta.get("name"))

    def _update_status_as_read(self, obj: Any) -> Any:
        """``update_status`` of an object whose parts but the status are the stored object's (a controller's
        ``obj.replace(status=...)`` of what it read): the loop of ``_update`` without ``to_dict`` of the
        whole object; ``statuswrite.FALLBACK`` (nothing written) when the general path must do it."""
        request = statuswrite.update_request(obj)
        if request is statuswrite.FALLBACK:
            return request
        kind, name, namespace, wanted, uid, status = request
        info = self._kinds.get(kind) if type(kind) is str and kind else None
        if info is None:
            return statuswrite.FALLBACK  # _info_for reports it, or registers the kind
        key = self._key(info, name, namespace if info.namespaced else None)
        precondition = self._parse_rv(wanted) if wanted else None
        while True:
            kv = self._current(info, key, name, precondition)
            stored = unpack(kv.value)
            if uid and uid != meta_of(stored).get("uid"):  # as _apply_update
                raise ValidationError(FieldError("metadata.uid", "field is immutable", uid))
            try:
                old = self._object(kv.key, kv.value, kv.mod_revision)
            except ValidationError:
                return statuswrite.FALLBACK
            if not statuswrite.is_as_read(obj, old):
                return statuswrite.FALLBACK
            result = self._write_status(key, kv, stored, status)
            if result is statuswrite.FALLBACK or result is not None:
                return result
            if precondition is not None:
                raise self._conflict(info, name)

    def _update_spec_as_read(self, obj: Any) -> Any:
        """``update`` with a precondition of an object whose parts but the spec are the stored object's own
        (``lease.replace(spec=...)`` of the Lease last written, as a kubelet renews it): the spec alone read
        again, the object written out once (see objects.specwrite); ``specwrite.FALLBACK`` (nothing read or
        written) when the general path must do it. The stored object is the one remembered for the
        precondition's revision: when it is not remembered, or the precondition is not the current
        revision, the general path does the update (and reports the Conflict)."""
        request = specwrite.update_request(obj)
        if request is specwrite.FALLBACK or self._recent is None:
            return specwrite.FALLBACK
        kind, name, namespace, wanted = request
        info = self._kinds.get(kind) if type(kind) is str and kind else None
        if info is None or type(name) is not str or not name or type(wanted) is not str:
            return specwrite.FALLBACK  # the general path reports it (or registers the kind)
        # nothing is checked (nor raised) before the object is known to be the stored one's: the general path
        # checks a name or resourceVersion that is not, in its order
        if not (wanted.isascii() and wanted.isdigit()) or str(int(wanted)) != wanted:
            return specwrite.FALLBACK
        precondition = int(wanted)
        key = info.key(name, namespace if info.namespaced else None, self._root)
        old = self._recent.get((key.encode(), precondition))
        if old is None or not specwrite.is_as_read(obj, old):
            return specwrite.FALLBACK
        kv = self.store.get(key)
        if kv is None or kv.mod_revision != precondition:
            return specwrite.FALLBACK  # NotFound or Conflict, as the general path says it
        encoded = specwrite.encode_spec(old, obj.spec)
        if encoded is specwrite.FALLBACK:
            return encoded
        result, stored = encoded
        data = pack(stored)
        if data == kv.value:
            return self._with_version(key, data, kv.mod_revision, result)  # no-op update: no new revision
        response = self._txn([Compare.mod_revision(key) == kv.mod_revision], [Op.put(key, data)], [])
        if not response.succeeded:
            raise self._conflict(info, name)
        return self._with_version(key, data, response.revision, result)

    def _update_copy(self, info: KindInfo, new: dict[str, Any], status_only: bool) -> dict[str, Any]:
        """The copy of an update's dict that ``_apply_update`` may change (``new`` is kept for a retry).
        Outside pods (whose spec it completes with admitted fields) and status updates, it changes only
        the top-level keys and those of ``metadata`` (a dict: ``_update`` read it with ``meta_of``), and
        nothing after it changes the rest (``_encode`` reads the dict; the models' ``_read`` copies what it
        keeps), so copying those two levels is the deepcopy's equal; a Lease renewal's deepcopy was a
        fifth of it."""
        if status_only or not self._update_fast or info.kind == "Pod":
            return copy.deepcopy(new)
        shallow = dict(new)
        shallow["metadata"] = dict(new["metadata"])
        return shallow

    def _apply_update(self, info: KindInfo, old: dict[str, Any], new: dict[str, Any],
                      status_only: bool) -> dict[str, Any]:
        """The object to store: system fields from ``old``; spec or status from ``new`` as allowed."""
        old_meta, meta = meta_of(old), meta_of(new)
        if meta.get("uid") and meta["uid"] != old_meta.get("uid"):
            raise ValidationError(FieldError("metadata.uid", "field is immutable", meta["uid"]))
        if status_only:
            result = copy.deepcopy(old)
            if "status" in new:
                result["status"] = new["status"]
            else:
                result.pop("status", None)
            return result
        for system_field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                             "generation", "name", "namespace"):
            if system_field in old_meta:
                meta[system_field] = old_meta[system_field]
            else:
                meta.pop(system_field, None)
        if info.kind == "Pod" and isinstance(new.get("spec"), dict) and isinstance(old.get("spec"), dict):
            # Set by Priority admission at create and immutable after, so an update cannot drop them.
            for admitted in ("priority", "preemptionPolicy"):
                if admitted in old["spec"] and admitted not in new["spec"]:
                    new["spec"][admitted] = old["spec"][admitted]
            # DefaultTolerationSeconds' tolerations, added at create: a pod update may not remove tolerations.
            _keep_admitted_tolerations(old["spec"], new["spec"])
        if info.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
            if added:
                raise ValidationError(FieldError("metadata.finalizers",
                                                 "no new finalizers can be added if the object is being deleted",
                                                 ", ".join(sorted(added)), "Forbidden"))
        return new

    def _write(self, info: KindInfo, key: str, kv: Any, old: dict[str, Any], new: dict[str, Any],
               spec_bumps_generation: bool = False) -> Any:
        """CAS-write ``new`` over ``kv``; None if the key moved on meanwhile. An object being deleted
        whose last finalizer is gone is deleted instead, as the API server does.

        ``spec_bumps_generation``: compare the spec *after* defaulting with the stored one, so a client
        that sends an undefaulted but equal spec does not bump ``generation``.
        """
        if spec_bumps_generation and self._update_fast:
            obj, stored = self._encode_dict(new)
            # unpack(pack(spec)) is unpack(data)["spec"] (msgpack encodes a map's values on their own) without
            # unpacking the rest; pack(stored) the same bytes as pack(unpack(pack(stored))) (the dict holds only
            # JSON values, which msgpack gives back as they were)
            if unpack(pack(stored.get("spec"))) != old.get("spec"):  # type: ignore[arg-type]
                generation = int(meta_of(old).get("generation") or 0) + 1
                meta_of(stored)["generation"] = generation
                # _copy, not replace: no model derives a value from the metadata (replace would compute the
                # object's derived values again, from the same spec and status)
                obj = obj._copy(metadata=obj.metadata._copy(generation=generation))
                meta_of(new)["generation"] = generation
            data = pack(stored)
        else:
            obj, data = self._encode(new)
        if spec_bumps_generation and not self._update_fast:
            stored = unpack(data)
            if stored.get("spec") != old.get("spec"):
                generation = int(meta_of(old).get("generation") or 0) + 1
                meta_of(stored)["generation"] = generation
                data = pack(stored)
                obj = self._codec.from_dict(stored) if not self._models else obj.replace(
                    metadata=obj.metadata.replace(generation=generation))
                meta_of(new)["generation"] = generation
        meta = meta_of(new)
        if meta.get("deletionTimestamp") and not meta.get("finalizers") \
                and not meta.get("deletionGracePeriodSeconds"):  # a graceful deletion waits for its kubelet
            response = self._txn([Compare.mod_revision(key) == kv.mod_revision], [Op.delete(key)], [])
            return self._with_version(key, data, response.revision, obj) if response.succeeded else None
        if data == kv.value:
            return self._with_version(key, data, kv.mod_revision, obj)  # no-op update: no new revision
        response = self._txn([Compare.mod_revision(key) == kv.mod_revision], [Op.put(key, data)], [])
        return self._with_version(key, data, response.revision, obj) if response.succeeded else None

    # ------------------------------------------------------------------ patch
    @served
    def patch(self, kind: str, name: str, patch: Mapping[str, Any] | str | bytes,
              namespace: str | None = None) -> Any:
        """Apply a JSON merge patch (RFC 7386) to the current object and store it; retried on
        concurrent writes unless the patch sets ``metadata.resourceVersion`` (a precondition).
        For kinds with a status subresource the patch cannot change the status (see patch_status)."""
        return self._patch(kind, name, patch, namespace, status_only=False)

    @served
    def patch_status(self, kind: str, name: str, patch: Mapping[str, Any] | str | bytes,
                     namespace: str | None = None) -> Any:
        """A JSON merge patch of the ``/status`` subresource: only ``status`` changes (what
        kube-scheduler's PatchPodStatus does for conditions and nominatedNodeName)."""
        return self._patch(kind, name, patch, namespace, status_only=True)

    def _patch(self, kind: str, name: str, patch: Mapping[str, Any] | str | bytes, namespace: str | None,
               status_only: bool) -> Any:
        info = self.kind_info(kind)
        body = parse_patch(patch)
        key = self._key(info, name, namespace)
        wanted = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body.get("metadata"), dict) else None
        precondition = self._parse_rv(wanted) if wanted else None
        fast = statuswrite.status_patch(body) if status_only and self._status_fast else statuswrite.UNSUPPORTED
        while True:
            kv = self._current(info, key, name, precondition)
            old = unpack(kv.value)
            if fast is not statuswrite.UNSUPPORTED and self._patch_names_match(info, old, name, namespace):
                result = self._write_status(key, kv, old, statuswrite.patched_status(old, fast))
                if result is not statuswrite.FALLBACK:
                    if result is not None:
                        return result
                    if precondition is not None:
                        raise self._conflict(info, name)
                    continue
            patched = apply_patch(old, body, name, (namespace or "default") if info.namespaced else None)
            merged = self._apply_update(info, old, patched, status_only)
            result = self._write(info, key, kv, old, merged, spec_bumps_generation=not status_only)
            if result is not None:
                return result
            if precondition is not None:
                raise self._conflict(info, name)

    @staticmethod
    def _patch_names_match(info: KindInfo, stored: dict[str, Any], name: str, namespace: str | None) -> bool:
        """Whether the stored object passes apply_patch's name and namespace checks (a patch that does not
        touch metadata keeps them)."""
        meta = stored.get("metadata")
        if type(meta) is not dict or meta.get("name") != name:
            return False
        return not (info.namespaced and meta.get("namespace") and meta["namespace"] != (namespace or "default"))

    def _write_status(self, key: str, kv: Any, stored: dict[str, Any], status: Any) -> Any:
        """A status write on the models encoding only the new ``status`` (see objects.statuswrite), with
        ``_write``'s rules: the stored object decoded once (remembered), a no-op write keeps its revision, an
        object being deleted without finalizers goes. None when the key moved on meanwhile,
        ``statuswrite.FALLBACK`` when the general path must do it."""
        try:
            old = self._object(kv.key, kv.value, kv.mod_revision)
        except ValidationError:
            return statuswrite.FALLBACK  # stored before today's rules: the general path reports it
        encoded = statuswrite.encode_status(old, stored, status)
        if encoded is statuswrite.FALLBACK:
            return encoded
        obj, data = encoded
        meta = stored["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") \
                and not meta.get("deletionGracePeriodSeconds"):
            response = self._txn([Compare.mod_revision(key) == kv.mod_revision], [Op.delete(key)], [])
            return self._with_version(key, data, response.revision, obj) if response.succeeded else None
        if data == kv.value:
            # no-op: no new revision, and the stored object as it is (what readers and watchers hold, so a
            # controller's next obj.replace(status=...) of it is still the stored object's own)
            return old
        response = self._txn([Compare.mod_revision(key) == kv.mod_revision], [Op.put(key, data)], [])
        return self._with_version(key, data, response.revision, obj) if response.succeeded else None

    # ------------------------------------------------------------------ bind
    @served
    def bind(self, name: str, node_name: str, namespace: str | None = None,
             resource_version: str | None = None) -> Any:
        """The ``pods/binding`` subresource: set ``spec.nodeName`` and the PodScheduled=True condition.

        As the API server: :class:`Conflict` if the pod is already on a node or being deleted; with
        ``resource_version`` also if the pod changed since. Generation is not bumped.
        """
        info = self.kind_info("Pod")
        if not isinstance(node_name, str) or not node_name:
            raise ValidationError(FieldError("target.name", "", type="Required value"))
        precondition = self._parse_rv(resource_version) if resource_version else None
        key = self._key(info, name, namespace)
        while True:
            kv = self._current(info, key, name, precondition)
            if self._models and not dns1123_subdomain(node_name):
                result = self._bind_model(key, kv, name, node_name)
                if result is not None:
                    return result
                if precondition is not None:
                    raise self._conflict(info, name)
                continue
            old = unpack(kv.value)
            spec = old.get("spec") if isinstance(old.get("spec"), dict) else {}
            if meta_of(old).get("deletionTimestamp"):
                raise Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is being deleted, '
                               "cannot be assigned to a host")
            if spec.get("nodeName"):
                raise Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is already '
                               f'assigned to node "{spec["nodeName"]}"')
            bound = copy.deepcopy(old)
            bound.setdefault("spec", {})["nodeName"] = node_name
            status = bound.get("status") if isinstance(bound.get("status"), dict) else {}
            conditions = [c for c in status.get("conditions") or [] if not (isinstance(c, dict)
                                                                            and c.get("type") == "PodScheduled")]
            conditions.append({"type": "PodScheduled", "status": "True",
                               "lastTransitionTime": now_rfc3339(self._clock)})
            status["conditions"] = conditions
            bound["status"] = status
            result = self._write(info, key, kv, old, bound)
            if result is not None:
                return result
            if precondition is not None:
                raise self._conflict(info, name)

    def _bind_model(self, key: str, kv: Any, name: str, node_name: str) -> Any:
        """``bind`` on the models: the stored pod is already validated and defaulted, so, as the API
        server's binding (a GuaranteedUpdate setting ``spec.nodeName`` and the condition, no validation
        of the rest of the pod), the new state is the old object with those two changes, encoded once:
        no decode of the dict, no copy, no re-validation. None when the key moved on meanwhile."""
        pod = self._object(kv.key, kv.value, kv.mod_revision)  # the decoded pod its watchers got
        if pod.metadata.deletion_timestamp:
            raise Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is being deleted, '
                           "cannot be assigned to a host")
        if pod.spec.node_name:
            raise Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is already '
                           f'assigned to node "{pod.spec.node_name}"')
        status = pod.status
        stamp = now_rfc3339(self._clock)
        scheduled = self._scheduled
        if scheduled.last_transition_time != stamp:  # one condition per second, shared (a value: never edited)
            scheduled = self._scheduled = Condition(type="PodScheduled", status="True", last_transition_time=stamp)
            self._scheduled_dict = scheduled.to_dict()  # only ever packed, never edited
        conditions = [c for c in status.conditions or () if c is None or c.type != "PodScheduled"]
        conditions.append(scheduled)
        # The stored dict with the same two changes, rather than bound.to_dict(): unpacking is one C call and
        # gives a fresh dict, the whole pod's to_dict was half the bind (the stored dict is the models' own
        # to_dict, and to_dict(from_dict(d)) is d, so both give the same object).
        stored = unpack(kv.value)
        spec = stored.setdefault("spec", {})
        spec["nodeName"] = node_name
        stored_status = stored.setdefault("status", {})
        stored_status["conditions"] = [c for c in stored_status.get("conditions") or ()
                                       if not (isinstance(c, dict) and c.get("type") == "PodScheduled")]
        stored_status["conditions"].append(self._scheduled_dict)
        meta_of(stored).pop("resourceVersion", None)
        data = pack(stored)
        response = self._txn([Compare.mod_revision(key) == kv.mod_revision], [Op.put(key, data)], [])
        if not response.succeeded:
            return None
        # _with_version's object, made in one copy of the pod: the binding's two changes and the revision
        revision = response.revision
        bound = pod.with_node_name(node_name)._copy(status=status._copy(conditions=conditions),
                                                    metadata=pod.metadata._copy(resource_version=str(revision)))
        if self._recent is not None:
            self._recent.put((key.encode(), revision), bound)
        return bound

    # ------------------------------------------------------------------ delete
    @served
    def delete(self, kind: str, name: str, namespace: str | None = None, *, uid: str | None = None,
               resource_version: str | None = None, propagation_policy: str | None = None,
               grace_period_seconds: int | None = None) -> Any:
        """Delete an object and return its last state. With finalizers, only mark it: set
        ``deletionTimestamp`` (and bump generation); it goes once an update empties ``finalizers``.
        ``uid`` / ``resource_version`` are DeleteOptions preconditions: Conflict when they do not hold.

        ``propagation_policy`` (DeleteOptions.propagationPolicy) tells the garbage collector what to do
        with the object's dependents: "Background" (the object goes now, the collector deletes the
        dependents after), "Foreground" (the object stays, marked, with the ``foregroundDeletion``
        finalizer until the collector has deleted its blocking dependents) or "Orphan" (the ``orphan``
        finalizer: the collector removes the dependents' ownerReferences, then the object goes). None is
        the kind's default, as the API server's: Orphan for batch/v1 Jobs (kept for compatibility; kubectl
        asks for Background explicitly), Background for everything else. The finalizers are only acted on
        while a garbage collector runs (controllers.ControllerManager).

        ``grace_period_seconds`` (DeleteOptions.gracePeriodSeconds): a pod bound to a node and not finished
        is deleted gracefully, as the API server does: marked with ``deletionTimestamp`` = now + the grace
        period and ``deletionGracePeriodSeconds``, and left for its kubelet to stop it and delete it with
        ``grace_period_seconds=0``; a later delete may shorten the period, never lengthen it. Other kinds,
        unbound and finished pods are deleted at once. None (not asking for a period) deletes at once too:
        the API server would use the pod's terminationGracePeriodSeconds, but nothing may be running a
        kubelet here to finish the deletion."""
        if propagation_policy not in PROPAGATION_POLICIES:
            raise ValidationError(FieldError("propagationPolicy", "supported values: " + ", ".join(
                f'"{p}"' for p in PROPAGATION_POLICIES if p), propagation_policy, "Unsupported value"))
        info = self.kind_info(kind)
        key = self._key(info, name, namespace)
        wanted_rv = self._parse_rv(resource_version) if resource_version else None
        if grace_period_seconds is not None and (type(grace_period_seconds) is not int or grace_period_seconds < 0):
            raise ValidationError(FieldError("gracePeriodSeconds", "must be a non-negative integer",
                                             grace_period_seconds))
        while True:
            kv = self.store.get(key)
            if kv is None:
                raise NotFound(f'{info.resource} "{name}" not found')
            old = unpack(kv.value)
            meta = meta_of(old)
            if uid is not None and meta.get("uid") != uid:
                raise Conflict(f'Operation cannot be fulfilled on {info.resource} "{name}": Precondition failed: '
                               f"UID in precondition: {uid}, UID in object meta: {meta.get('uid')}")
            if wanted_rv is not None and wanted_rv != kv.mod_revision:
                raise Conflict(f'Operation cannot be fulfilled on {info.resource} "{name}": Precondition failed: '
                               f"ResourceVersion in precondition: {wanted_rv}, ResourceVersion in object meta: "
                               f"{kv.mod_revision}")
            grace = self._grace_period(info, old, grace_period_seconds)
            policy = propagation_policy or ("Orphan" if info.kind == "Job" and old.get("apiVersion") == "batch/v1"
                                            else "Background")
            finalizers = _gc_finalizers(meta.get("finalizers") or [], policy, explicit=propagation_policy is not None)
            if grace:
                result = self._delete_gracefully(info, key, kv, old, grace, finalizers)
            elif finalizers:
                if meta.get("deletionTimestamp") and not meta.get("deletionGracePeriodSeconds"):
                    return self._decode(kv)
                marked = copy.deepcopy(old)
                meta_of(marked)["finalizers"] = finalizers
                meta_of(marked)["deletionTimestamp"] = now_rfc3339(self._clock)
                meta_of(marked)["deletionGracePeriodSeconds"] = 0
                meta_of(marked)["generation"] = int(meta.get("generation") or 0) + 1
                result = self._write(info, key, kv, old, marked)
            else:
                response = self._txn([Compare.mod_revision(key) == kv.mod_revision], [Op.delete(key)], [])
                # The last state, as decoded at its own revision when remembered: not decoded again.
                known = self._recent.get((key.encode(), kv.mod_revision)) if self._recent is not None else None
                result = self._with_version(key, kv.value, response.revision, known) if response.succeeded else None
            if result is not None:
                return result

    @staticmethod
    def _grace_period(info: KindInfo, old: dict[str, Any], asked: int | None) -> int:
        """The pod strategy's CheckGracefulDelete: the period asked for, 0 for an unbound or finished pod."""
        if not asked or info.kind != "Pod":
            return 0
        spec = old.get("spec") if isinstance(old.get("spec"), dict) else {}
        status = old.get("status") if isinstance(old.get("status"), dict) else {}
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0
        return asked

    def _delete_gracefully(self, info: KindInfo, key: str, kv: Any, old: dict[str, Any], grace: int,
                           finalizers: list[str]) -> Any:
        """Mark a pod for graceful deletion (rest.BeforeDelete), with the garbage collector's finalizers for
        its propagation policy; an earlier deadline is kept."""
        meta = meta_of(old)
        now = self._clock()
        deadline = now_rfc3339(lambda: now + grace)
        if meta.get("deletionTimestamp") and meta.get("deletionTimestamp") <= deadline:
            return self._decode(kv)  # already due sooner: a delete never lengthens the period
        marked = copy.deepcopy(old)
        if finalizers:
            meta_of(marked)["finalizers"] = finalizers
        meta_of(marked)["deletionTimestamp"] = deadline
        meta_of(marked)["deletionGracePeriodSeconds"] = grace
        meta_of(marked)["generation"] = int(meta.get("generation") or 0) + 1
        return self._write(info, key, kv, old, marked)

    # ------------------------------------------------------------------ watch
    @served
    def watch(self, kind: str, namespace: str | None = None, resource_version: str | None = None,
              label_selector: LabelSelector | str | None = None,
              field_selector: FieldSelector | str | None = None, *,
              all_namespaces: bool = False) -> WatchStream:
        """Events for a kind in one namespace (or all, ``all_namespaces=True``) after ``resource_version``:
        ADDED / MODIFIED / DELETED (and BOOKMARK on request). Without a resourceVersion (or "0"), the
        current objects arrive first as ADDED.
        With selectors, an object that starts matching is ADDED and one that stops is DELETED, as the
        API server's watch cache does. A compacted resourceVersion raises :class:`Expired`."""
        info = self.kind_info(kind)
        namespace = self._scope(info, namespace, all_namespaces, "watch")
        labels = as_selector(label_selector, LabelSelector)
        fields = as_selector(field_selector, FieldSelector)
        prefix = self._prefix(info, namespace)
        initial: list[Any] = []
        if resource_version in (None, "", "0"):
            listed = self.store.range(prefix, prefix[:-1] + chr(ord("/") + 1))
            start = listed.revision + 1
            for kv in listed.kvs:
                d = self._decode_dict(kv)
                if WatchStream.selected(d, labels, fields):
                    initial.append(self._object(kv.key, kv.value, kv.mod_revision, d))
        else:
            start = self._parse_rv(resource_version) + 1
            compacted = self.store.status().compact_revision
            if compacted and start < compacted:
                raise Expired(f"too old resource version: {resource_version} ({compacted})")
        try:
            watcher = self.store.watch(prefix, prefix[:-1] + chr(ord("/") + 1), start_revision=start,
                                       prev_kv=True, progress_notify=True)
        except Compacted:
            raise Expired(f"too old resource version: {resource_version}") from None
        return WatchStream(watcher, self._watched, self._codec.from_dict, initial, labels, fields)

    # ------------------------------------------------------------------ helpers
    def _txn(self, compare: list[Any], success: list[Any], failure: list[Any]) -> Any:
        """A kvstore txn; an object too big for the store is the API server's 413, a ValidationError."""
        try:
            response = self.store.txn(compare, success, failure)
        except RequestTooLarge as exc:
            raise ValidationError(FieldError("<object>", f"Request entity too large: limit is {exc.limit}",
                                             exc.size, "Too long")) from None
        if self._priority_view is not None:
            self._priority_view.wrote(response, success)
        return response

    def _priority_classes(self) -> dict[str, Any]:
        """Every stored PriorityClass by name; decoded again only when one of them changed."""
        return self._priority_state()[1]

    def _priority_state(self) -> tuple[tuple[int, ...], dict[str, Any]]:
        """(the stored PriorityClasses' revisions, which change with any write to one of them, and the
        classes by name), current now (objects.priorityclasses)."""
        view = self._priority_view
        if view is None:
            view = self._priority_view = PriorityClassView(
                self.store, self.kind_info("PriorityClass").prefix(None, self._root), self._decode)
        return view.state()

    @staticmethod
    def _parse_rv(value: Any) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        if number < 0 or str(number) != str(value):
            raise ValidationError(FieldError("metadata.resourceVersion", "must be a resource version", value))
        return number

    def _current(self, info: KindInfo, key: str, name: Any, precondition: int | None) -> Any:
        """The stored kv a write starts from: NotFound when there is none, Conflict when ``precondition`` (a
        resourceVersion the caller asked for) is not its mod_revision."""
        kv = self.store.get(key)
        if kv is None:
            raise NotFound(f'{info.resource} "{name}" not found')
        if precondition is not None and precondition != kv.mod_revision:
            raise self._conflict(info, name)
        return kv

    @staticmethod
    def _conflict(info: KindInfo, name: Any) -> Conflict:
        return Conflict(f'Operation cannot be fulfilled on {info.resource} "{name}": the object has been '
                        "modified; please apply your changes to the latest version and try again")

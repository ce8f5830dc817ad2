"""Resource lists (``requests``, ``limits``, ``capacity``) and the pod resource arithmetic the scheduler uses.

A resource list maps a resource name to a :class:`Quantity`.  The scheduler counts in integers: "cpu" in
millicores (``milli_value``), everything else in units (``value``: bytes, counts), both rounded up.
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterable, Mapping

from .errors import FieldError, ValidationError
from .quantity import Quantity
from .fieldtypes import Errors, FieldType, json_type, join, type_error
from .schema import MUTATIONS, Field, Model, model
from .schema import _set
from .validation import resource_name

__all__ = ["QuantityMap", "ResourceRequirements", "to_units", "DEFAULT_MILLI_CPU_REQUEST",
           "DEFAULT_MEMORY_REQUEST", "aggregate_requests"]

# kube-scheduler's defaults for containers that request nothing (pkg/scheduler/util: 100m, 200Mi).
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024


_PARSED: dict[str, Quantity] = {}
_PARSED_LIMIT = 8192


class QuantityMap(FieldType):
    """A ``ResourceList``: resource name -> Quantity; names checked, quantities non-negative."""

    __slots__ = ()
    collection: ClassVar[type] = dict

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        if type(value) is not dict:
            errs.append(type_error(parent, key, value, "object"))
            return None
        path = join(parent, key)
        out: dict[str, Quantity] = {}
        for name, raw in value.items():
            if type(name) is not str:
                errs.append(FieldError(path, "keys must be strings", repr(name)))
                continue
            for problem in resource_name(name):
                errs.append(FieldError(join(path, name), problem, name))
            if type(raw) is Quantity:
                q = raw
            elif type(raw) is str and raw in _PARSED:
                q = _PARSED[raw]
            else:
                try:
                    q = Quantity.from_dict(raw, join(path, name))
                except ValidationError as e:
                    errs.extend(e.errors)
                    continue
                except Exception:  # noqa: BLE001 - never let odd input escape as another exception
                    errs.append(FieldError(join(path, name), "must be a quantity", json_type(raw)))
                    continue
            if type(raw) is str and len(_PARSED) < _PARSED_LIMIT:
                _PARSED[raw] = q  # quantities are immutable values: one per distinct text is enough
            if q.sign() < 0:
                errs.append(FieldError(join(path, name), "must be greater than or equal to 0", str(q)))
            out[name] = q
        return out

    @staticmethod
    def emit(value: Any) -> Any:
        return {k: str(q) for k, q in value.items()}


def to_units(resources: Mapping[str, Any]) -> dict[str, int]:
    """A resource list in the scheduler's integers: cpu in millicores, the rest in units (rounded up)."""
    out = {}
    for name, q in resources.items():
        if type(q) is not Quantity:
            q = Quantity(q)
        out[name] = q.milli_value() if name == "cpu" else q.value()
    return out


_NOT_COMPUTED: Any = (-1, None, None, {})  # checked at no count: computed on first read


@model
class ResourceRequirements(Model):
    """``resources``: what a container requests (scheduled against) and its limits.

    Derived: ``effective_requests`` (dict[str, int]) are the requests after Kubernetes' defaulting —
    a resource with a limit but no request requests its limit — in the scheduler's integers; read-only,
    recomputed when ``requests`` or ``limits`` changed since (never stale).
    """

    FIELDS = (
        Field("requests", QuantityMap()),
        Field("limits", QuantityMap()),
    )
    DERIVED = ("_effective",)
    TRACKED = True  # derived values read these fields
    limits: dict[str, Quantity]
    requests: dict[str, Quantity]

    def _derive(self) -> None:
        _set(self, "_effective", _NOT_COMPUTED)  # computed on first read

    def compute_effective(self) -> dict[str, int]:
        """``effective_requests`` computed now, not kept (what Pod's derived values use)."""
        limits = self.limits
        if limits:
            merged = dict(limits)
            merged.update(self.requests)
            return to_units(merged)
        return to_units(self.requests) if self.requests else {}

    @property
    def effective_requests(self) -> dict[str, int]:
        """The requests as the scheduler counts them (a limit stands in for a missing request); recomputed
        when a field was assigned or either map differs from the copy it was computed from."""
        cached = self._effective
        if cached[0] != MUTATIONS[0] or cached[1] != self.requests or cached[2] != self.limits:
            cached = (MUTATIONS[0], dict(self.requests), dict(self.limits), self.compute_effective())
            _set(self, "_effective", cached)
        return cached[3]  # type: ignore[no-any-return]

    def validate(self, path: str, errs: Errors) -> None:
        for name, request in self.requests.items():
            limit = self.limits.get(name)
            if limit is not None and request > limit:
                errs.append(FieldError(join(join(path, "requests"), name),
                                       f"must be less than or equal to {name} limit of {limit}", str(request)))


def _add(total: dict[str, int], extra: Mapping[str, int]) -> None:
    for name, amount in extra.items():
        total[name] = total.get(name, 0) + amount


def _max_into(total: dict[str, int], other: Mapping[str, int]) -> None:
    for name, amount in other.items():
        if amount > total.get(name, 0):
            total[name] = amount


def aggregate_requests(containers: Iterable[Mapping[str, int]],
                       init_containers: Iterable[tuple[Mapping[str, int], bool]],
                       overhead: Mapping[str, int] | None) -> dict[str, int]:
    """computePodResourceRequest: the sum over containers, the max with each init container, plus overhead.

    ``init_containers`` pairs each init container's requests with whether it is a restartable sidecar
    (``restartPolicy: Always``): a sidecar keeps running, so it adds to the containers' sum and to every
    later init container's peak, as kube-scheduler counts it.
    """
    total: dict[str, int] = {}
    for requests in containers:
        _add(total, requests)
    init_peak: dict[str, int] = {}
    sidecars: dict[str, int] = {}
    for requests, restartable in init_containers:
        if restartable:
            _add(total, requests)
            _add(sidecars, requests)
            _max_into(init_peak, sidecars)
        else:
            running = dict(sidecars)
            _add(running, requests)
            _max_into(init_peak, running)
    _max_into(total, init_peak)
    if overhead:
        _add(total, overhead)
    return total


def non_zero(requests: Mapping[str, int]) -> dict[str, int]:
    """A container's (cpu, memory) for spreading: the scheduler's defaults stand in for missing requests."""
    return {"cpu": requests.get("cpu", DEFAULT_MILLI_CPU_REQUEST),
            "memory": requests.get("memory", DEFAULT_MEMORY_REQUEST)}

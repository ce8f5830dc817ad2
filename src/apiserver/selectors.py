"""labelSelector / fieldSelector query parameters, with the per-resource field labels the objects
package does not select on (events' ``involvedObject.*``, which ``kubectl describe`` asks for)."""
from __future__ import annotations

from typing import Any

import objects

from .context import Call
from .errors import bad_request

# fields.SelectableFields beyond objects.FieldSelector's table, per kind (matched on the JSON form).
EXTRA_FIELDS: dict[str, frozenset[str]] = {
    "Event": frozenset({"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                        "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                        "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"}),
    "Secret": frozenset({"type"}),
}


class ExtraFieldFilter:
    """Terms on extra field labels, applied to the JSON form after the Registry's selection."""

    def __init__(self, terms: list[tuple[str, bool, str]]) -> None:
        self.terms = terms  # (field, equal, value)

    def matches(self, d: dict[str, Any]) -> bool:
        for field, equal, value in self.terms:
            current: Any = d
            for part in field.split("."):
                current = current.get(part) if isinstance(current, dict) else None
            actual = "" if current is None else str(current)
            if (actual == value) != equal:
                return False
        return True


def selectors(call: Call) -> tuple[Any, Any, ExtraFieldFilter | None]:
    """(label selector, field selector for the Registry, extra filter) of a list or watch; 400 if bad."""
    label_text = call.query.get("labelSelector") or None
    field_text = call.query.get("fieldSelector") or None
    labels = fields = None
    extra: ExtraFieldFilter | None = None
    try:
        if label_text:
            labels = objects.LabelSelector.parse(label_text)
    except objects.ValidationError as exc:
        raise bad_request(f"unable to parse requirement: {exc}") from None
    if field_text:
        allowed = EXTRA_FIELDS.get(call.res.kind, frozenset())
        kept, extra_terms = [], []
        for term in filter(None, objects.fields.split_terms(field_text)):
            op = "!=" if "!=" in term else "==" if "==" in term else "="
            name, _, value = term.partition(op)
            if name.strip() in allowed:
                extra_terms.append((name.strip(), op != "!=", value.replace("\\,", ",").replace("\\=", "=")
                                    .replace("\\\\", "\\")))
            else:
                kept.append(term)
        try:
            if kept:
                fields = objects.FieldSelector.parse(",".join(kept))
        except objects.ValidationError as exc:
            raise bad_request(_field_message(exc)) from None
        extra = ExtraFieldFilter(extra_terms) if extra_terms else None
    return labels, fields, extra


def _field_message(exc: objects.ValidationError) -> str:
    return exc.errors[0].message  # "field label not supported: spec.foo", the API server's words

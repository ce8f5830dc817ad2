"""``meta.k8s.io/v1`` Table responses (``Accept: application/json;as=Table;g=meta.k8s.io;v=v1``)."""
from __future__ import annotations

import time
from typing import Any

from .printers import printer_for


def wants_table(accept: str | None) -> bool:
    """Whether the Accept header asks for a Table first (kubectl get does)."""
    if not accept:
        return False
    first = accept.split(",")[0]
    params = {p.strip() for p in first.split(";")[1:]}
    return "as=Table" in params and "g=meta.k8s.io" in params


def _partial(obj: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}


def row(obj: dict[str, Any], kind: str, include_object: str = "Metadata", now: float | None = None) -> dict[str, Any]:
    """One Table row: the cells and the object (as metadata only, whole, or none: ``includeObject``)."""
    _, printer = printer_for(kind)
    entry: dict[str, Any] = {"cells": printer(obj, time.time() if now is None else now)}
    if include_object == "Object":
        entry["object"] = obj
    elif include_object != "None":
        entry["object"] = _partial(obj)
    return entry


def table(items: list[dict[str, Any]], kind: str, metadata: dict[str, Any],
          include_object: str = "Metadata") -> dict[str, Any]:
    """The Table of a list (or of one object, ``items`` of one)."""
    columns, _ = printer_for(kind)
    now = time.time()
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
            "columnDefinitions": [{"name": name, "type": ctype, "format": fmt, "description": "",
                                   "priority": priority} for name, ctype, fmt, priority in columns],
            "rows": [row(obj, kind, include_object, now) for obj in items]}

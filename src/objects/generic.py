"""Any kind the package does not model (custom resources, ...): every field is kept as it came."""
from __future__ import annotations

from typing import Any

from .meta import METADATA, TYPE_META, KubeObject
from .schema import model


@model
class GenericObject(KubeObject):
    """An object of a kind without a model.  ``metadata`` is typed and validated; every other top-level
    field (``spec``, ``status``, ``data``, ...) is kept in ``unknown_fields`` as plain JSON.

    Whether the kind is namespaced is unknown, so a namespace is allowed and ``key`` is "namespace/name"
    when there is one, else "name".
    """

    FIELDS = TYPE_META + (METADATA,)
    NAMESPACED = None

    @property
    def key(self) -> str:  # type: ignore[override]
        meta = self.metadata
        return f"{meta.namespace}/{meta.name or ''}" if meta.namespace else (meta.name or "")

    @property
    def fields(self) -> dict[str, Any]:
        """Every top-level field other than apiVersion, kind and metadata."""
        return self.unknown_fields or {}

    @property
    def spec(self) -> Any:
        """``spec`` as plain JSON, or None."""
        return self.fields.get("spec")

    @property
    def status(self) -> Any:
        """``status`` as plain JSON, or None."""
        return self.fields.get("status")

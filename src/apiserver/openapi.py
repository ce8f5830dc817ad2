"""/openapi/v2 and /openapi/v3: not served yet (kubectl falls back; see docs/apiserver.md)."""
from __future__ import annotations

from typing import Any


def document(catalog: Any, parts: list[str]) -> bytes | None:
    """The OpenAPI document at /openapi/<parts>, or None (404)."""
    return None

"""List continue tokens, shaped like the API server's: base64 of {"v", "rv", "start"}.

The token pins the revision of the first page, so every page of one list reads the same snapshot;
``start`` is the key to resume from, relative to the listed prefix.
"""
from __future__ import annotations

import base64
import binascii
import json

from .errors import FieldError, ValidationError

_VERSION = "meta.k8s.io/v1"


def encode_continue(start: str, revision: int) -> str:
    """The token for resuming at key suffix ``start`` at ``revision``."""
    body = json.dumps({"v": _VERSION, "rv": revision, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[str, int]:
    """(start, revision) of a token; ValidationError when it is not one of ours."""
    try:
        padded = token + "=" * (-len(token) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if body.get("v") != _VERSION:
            raise ValueError("version")
        start, revision = body["start"], body["rv"]
        if not isinstance(start, str) or type(revision) is not int or revision < 1 or ".." in start:
            raise ValueError("fields")
        return start, revision
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeError):
        raise ValidationError(FieldError("continue", "invalid continue token", token)) from None

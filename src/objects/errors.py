"""The objects package's exception hierarchy.

Every error names the field path, the value and the rule, in the API server's words:
``spec.containers[0].resources.requests.cpu: Invalid value: "12x": must be a quantity``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable


class ObjectsError(Exception):
    """Base class of every error raised by the objects package."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, as the API server's field.Error reports it."""

    path: str
    message: str
    value: Any = None
    type: str = "Invalid value"  # "Required value", "Unsupported value", "Forbidden", "Too long", ...

    def __str__(self) -> str:
        if self.type in ("Required value", "Forbidden"):  # field.Error prints no value for these
            return f"{self.path}: {self.type}" + (f": {self.message}" if self.message else "")
        shown = self.value if isinstance(self.value, (int, float)) else f'"{self.value}"'
        text = f"{self.path}: {self.type}: {shown}"
        return f"{text}: {self.message}" if self.message else text


class ValidationError(ObjectsError, ValueError):
    """An object failed validation; ``errors`` lists every problem with its field path."""

    def __init__(self, errors: Iterable[FieldError] | FieldError, kind: str = "", name: str = "") -> None:
        self.errors: list[FieldError] = [errors] if isinstance(errors, FieldError) else list(errors)
        self.kind = kind
        self.name = name
        head = f'{kind} "{name}" is invalid: ' if kind else ""
        super().__init__(head + "; ".join(str(e) for e in self.errors))


Invalid = ValidationError


class BadRequest(ValidationError):
    """A request the API server answers 400 Bad Request: a patch that is not JSON, or whose object names
    another object than the request (``the name of the object (b) does not match the name on the URL (a)``).
    A :class:`ValidationError`, so ``except ValidationError`` (or ``Invalid``) catches it too."""


class NotFound(ObjectsError, LookupError):
    """The object does not exist (HTTP 404 in the API server)."""


class UnknownResourceType(ObjectsError):
    """The kind or resource name is not one the registry knows: ``the server doesn't have a resource type
    "pdos"`` (kubectl's words). Not a :class:`NotFound`, so ``except NotFound`` does not hide a typo."""


class AlreadyExists(ObjectsError):
    """An object with that name already exists (HTTP 409, reason AlreadyExists)."""


class Conflict(ObjectsError):
    """The object was modified since the resourceVersion the caller read (HTTP 409, reason Conflict)."""


class ServerTimeout(ObjectsError, TimeoutError):
    """The store did not answer in time (``kvstore.Timeout``; etcd's "request timed out"). A write may or
    may not have been applied: read again before repeating one that has no precondition. The API server
    answers 504, reason Timeout. Transient: retry."""


class Unavailable(ObjectsError):
    """The store cannot serve now (``kvstore.NoLeader`` / ``NotReady``: a Raft cluster between leaders, a
    member still catching up). Nothing was applied. The API server answers 503, reason ServiceUnavailable.
    Transient: retry."""


class Expired(ObjectsError):
    """The resourceVersion or continue token is older than the retained history (HTTP 410 Gone)."""

"""The apiserver package's exception: an HTTP failure carried as a Kubernetes ``metav1.Status``.

Every error a request can meet ends as one :class:`APIError` (code, reason, message, details), written
as the API server writes it: ``{"kind": "Status", "status": "Failure", "reason": "NotFound", ...}``.
"""
from __future__ import annotations

from typing import Any


class APIError(Exception):
    """A request failed: ``code`` (HTTP status), ``reason`` (metav1.StatusReason), ``message``, ``details``."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        """The ``metav1.Status`` object for this error."""
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message, "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def bad_request(message: str) -> APIError:
    """400 BadRequest."""
    return APIError(400, "BadRequest", message)


def not_found_path() -> APIError:
    """404 for a path or resource the server does not serve (the API server's words)."""
    return APIError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed(verb: str, resource: str) -> APIError:
    """405 for a verb a resource does not support."""
    return APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
                    {"kind": resource})


def unauthorized() -> APIError:
    """401: no or wrong bearer token."""
    return APIError(401, "Unauthorized", "Unauthorized")


def too_large(limit: int) -> APIError:
    """413: the body is over the request size limit."""
    return APIError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")


def unsupported_media_type(accepted: tuple[str, ...] | list[str]) -> APIError:
    """415: a body in a format the verb does not take."""
    return APIError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                                                 f"media types include: {', '.join(accepted)}")

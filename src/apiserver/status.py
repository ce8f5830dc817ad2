"""objects' errors turned into the API server's ``metav1.Status`` (reason, code, wording, causes)."""
from __future__ import annotations

from typing import Any

import objects

from .errors import APIError

# field.ErrorType's text -> metav1.CauseType, as the API server reports Invalid causes.
_CAUSE_TYPES = {
    "Invalid value": "FieldValueInvalid",
    "Required value": "FieldValueRequired",
    "Unsupported value": "FieldValueNotSupported",
    "Duplicate value": "FieldValueDuplicate",
    "Forbidden": "FieldValueForbidden",
    "Too long": "FieldValueTooLong",
    "Too many": "FieldValueTooMany",
    "Not found": "FieldValueNotFound",
    "Internal error": "InternalError",
}


def success(code: int = 200, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``Status`` of a request that succeeded (deletes of most kinds, bindings)."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def _details(resource: str, name: str | None, group: str) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = resource
    return details


def invalid(error: objects.ValidationError, kind: str, name: str | None, group: str) -> APIError:
    """422 Invalid: ``Pod "web" is invalid: <every field error>`` with one cause per field."""
    causes = []
    for fe in error.errors:
        text = str(fe)
        prefix = f"{fe.path}: "
        causes.append({"reason": _CAUSE_TYPES.get(fe.type, "FieldValueInvalid"),
                       "message": text[len(prefix):] if text.startswith(prefix) else text,
                       "field": fe.path})
    joined = "; ".join(str(fe) for fe in error.errors)
    if len(error.errors) > 1:
        joined = "[" + ", ".join(str(fe) for fe in error.errors) + "]"
    details = {"name": name or error.name or "", "group": group, "kind": kind, "causes": causes}
    if not details["group"]:
        del details["group"]
    qualified = f"{kind}.{group}" if group else kind  # schema.GroupKind.String()
    return APIError(422, "Invalid", f'{qualified} "{name or error.name or ""}" is invalid: {joined}', details)


def from_objects_error(error: Exception, *, resource: str, kind: str, name: str | None = None,
                       group: str = "") -> APIError:
    """The Status for an error the Registry raised while serving ``resource`` (``kind`` for Invalid)."""
    if isinstance(error, APIError):
        return error
    message = str(error)
    if group:  # the API server names a grouped resource qualified: deployments.apps "web" not found
        message = message.replace(f'{resource} "', f'{resource}.{group} "', 1)
    if isinstance(error, objects.NotFound):
        return APIError(404, "NotFound", message, _details(resource, name, group))
    if isinstance(error, objects.AlreadyExists):
        return APIError(409, "AlreadyExists", message, _details(resource, name, group))
    if isinstance(error, objects.Conflict):
        return APIError(409, "Conflict", message, _details(resource, name, group))
    if isinstance(error, objects.Expired):
        return APIError(410, "Expired", message)
    if isinstance(error, objects.ServerTimeout):
        return APIError(504, "Timeout", message, _details(resource, name, group))
    if isinstance(error, objects.Unavailable):
        return APIError(503, "ServiceUnavailable", message)
    if isinstance(error, objects.ValidationError):
        if any(fe.type == "Too long" and "Request entity too large" in fe.message for fe in error.errors):
            too_big = next(fe for fe in error.errors if "Request entity too large" in fe.message)
            return APIError(413, "RequestEntityTooLarge", too_big.message)
        return invalid(error, kind, name, group)
    raise error

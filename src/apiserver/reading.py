"""get and list (labelSelector, fieldSelector, limit/continue, resourceVersion[Match]), JSON or Table."""
from __future__ import annotations

from typing import Any

import objects

from . import status, table
from .bodies import dumps
from .context import Call, Context
from .errors import APIError, bad_request
from .selectors import selectors

Response = tuple[int, bytes]


def get(ctx: Context, call: Call) -> Response:
    """GET of one object."""
    obj = ctx.reader.get(call.res.kind, call.path.name, call.path.namespace)
    if table.wants_table(call.accept):
        meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        return 200, dumps(table.table([obj], call.res.kind, meta, call.query.get("includeObject", "Metadata")))
    return 200, dumps(obj)


def list_objects(ctx: Context, call: Call) -> Response:
    """GET of a collection: one page of a consistent snapshot."""
    labels, fields, extra = selectors(call)
    limit = call.integer("limit") or 0
    if limit < 0:
        raise bad_request(f"limit: must be a non-negative integer: {limit}")
    continue_ = call.query.get("continue") or None
    rv = resource_version_for_list(ctx, call, continue_)
    page = ctx.reader.list(call.res.kind, label_selector=labels, field_selector=fields, limit=limit,
                             continue_=continue_, resource_version=rv, **call.scope())
    items = page.items
    if extra is not None:
        items = [d for d in items if extra.matches(d)]
    meta: dict[str, Any] = {"resourceVersion": page.resource_version}
    if page.continue_:
        meta["continue"] = page.continue_
    if page.remaining_item_count is not None and extra is None:  # not set with a selector (ListMeta's rule)
        meta["remainingItemCount"] = page.remaining_item_count
    if table.wants_table(call.accept):
        return 200, dumps(table.table(items, call.res.kind, meta, call.query.get("includeObject", "Metadata")))
    return 200, dumps({"kind": call.res.list_kind, "apiVersion": call.res.group_version, "metadata": meta,
                       "items": items})


def resource_version_for_list(ctx: Context, call: Call, continue_: str | None) -> str | None:
    """The revision to read (None: the latest), per resourceVersion and resourceVersionMatch.

    As the API server: unset or "0" read the latest (the watch cache would serve "0" possibly stale);
    ``NotOlderThan`` (or no match with a version) reads the latest once it is at least that version;
    ``Exact`` reads that revision (410 Expired once compacted).
    """
    rv = call.query.get("resourceVersion") or None
    match = call.query.get("resourceVersionMatch") or None
    if match is not None:
        if match not in ("Exact", "NotOlderThan"):
            raise invalid_list_options("resourceVersionMatch", match,
                                       'supported values: "Exact", "NotOlderThan"', "Unsupported value")
        if rv is None:
            raise invalid_list_options("resourceVersionMatch", match,
                                       "resourceVersionMatch is forbidden unless resourceVersion is provided",
                                       "Forbidden")
        if continue_:
            raise invalid_list_options("resourceVersionMatch", match,
                                       "resourceVersionMatch is forbidden when continue is provided", "Forbidden")
    if continue_ and rv not in (None, "0"):
        raise invalid_list_options("resourceVersion", rv,
                                   "specifying resource version is not allowed when using continue", "Forbidden")
    if rv is None or rv == "0" and match != "Exact":
        return None
    try:
        wanted = int(rv)
    except ValueError:
        raise bad_request(f'invalid resource version "{rv}"') from None
    if match == "Exact":
        return rv
    current = ctx.registry.store.revision
    if wanted > current:
        # kube-apiserver waits up to 3 s for the watch cache to catch up, then answers 504
        raise APIError(504, "Timeout", f"Too large resource version: {wanted}, current: {current}",
                       {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                        "retryAfterSeconds": 1})
    return None


def invalid_list_options(field: str, value: Any, message: str, kind: str) -> APIError:
    """The API server's 422 for ListOptions that do not validate."""
    error = objects.ValidationError(objects.FieldError(field, message, value, kind))
    return status.invalid(error, "ListOptions", "", "meta.k8s.io")


"""From an HTTP request to the handler of its verb and resource, and any failure to a ``Status``."""
from __future__ import annotations

import traceback
from typing import Any, Callable

from aiohttp import web

import objects

from . import discovery, openapi, patching, reading, routing, status, subresources, watching, writing
from .auth import authorized
from .bodies import dumps
from .context import Call, Context
from .errors import APIError, method_not_allowed, not_found_path, too_large, unauthorized

_JSON = "application/json"
_HEALTH = ("/healthz", "/livez", "/readyz")


def _json(payload: bytes, code: int = 200) -> web.Response:
    return web.Response(body=payload, status=code, content_type=_JSON)


def _error(error: APIError) -> web.Response:
    return _json(dumps(error.status()), error.code)


class Dispatcher:
    """The server's one request handler (every path goes through :meth:`handle`)."""

    def __init__(self, ctx: Context, token: str | None) -> None:
        self.ctx = ctx
        self.token = token

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not authorized(request.headers, self.token):
            return _error(unauthorized())
        path = request.path
        try:
            route = routing.parse(path)
            if route is None:
                return await self._non_resource(request, path)
            return await self._resource(request, route)
        except APIError as error:
            return _error(error)
        except web.HTTPRequestEntityTooLarge:
            return _error(too_large(self.ctx.max_body_bytes))
        except Exception as exc:  # a bug: answered as the API server's 500, logged
            traceback.print_exc()
            return _error(APIError(500, "InternalError", f"Internal error occurred: {exc}"))

    async def _non_resource(self, request: web.Request, path: str) -> web.StreamResponse:
        if request.method != "GET":
            raise method_not_allowed(request.method, path)
        parts = [p for p in path.split("/") if p]
        catalog = self.ctx.catalog
        if path in _HEALTH or path.rstrip("/") in _HEALTH:
            return web.Response(text="ok", content_type="text/plain")
        if parts == ["version"]:
            return _json(dumps(discovery.version()))
        if parts == ["api"]:
            return _json(dumps(discovery.core_versions(self.ctx.server_address)))
        if parts == ["apis"]:
            return _json(dumps(discovery.group_list(catalog)))
        if len(parts) == 2 and parts[0] == "api":
            return _json(dumps(discovery.resource_list(catalog, "", parts[1])))
        if len(parts) == 2 and parts[0] == "apis":
            return _json(dumps(discovery.group(catalog, parts[1])))
        if len(parts) == 3 and parts[0] == "apis":
            return _json(dumps(discovery.resource_list(catalog, parts[1], parts[2])))
        if parts and parts[0] == "openapi":
            document = openapi.document(catalog, parts[1:])
            if document is None:
                raise not_found_path()
            return _json(document)
        raise not_found_path()

    async def _resource(self, request: web.Request, route: routing.ResourcePath) -> web.StreamResponse:
        res = self.ctx.catalog.lookup(route.group, route.version, route.resource)
        if route.namespace is not None and not res.namespaced:
            raise not_found_path()
        method = request.method
        body = await request.read() if method in ("POST", "PUT", "PATCH", "DELETE") else b""
        call = Call(route, res, request.query, request.headers.get("Accept", ""),
                    request.headers.get("Content-Type", ""), body)
        handler = self._handler(call, method)
        try:
            if handler is watching.watch:
                return await watching.watch(self.ctx, call, request)
            code, payload = await self.ctx.run(handler, self.ctx, call)
        except objects.ObjectsError as exc:
            raise status.from_objects_error(exc, resource=res.resource, kind=res.kind, name=route.name,
                                            group=res.group) from None
        return _json(payload, code)

    def _handler(self, call: Call, method: str) -> Callable[..., Any]:
        route, res = call.path, call.res
        needs_namespace = res.namespaced and route.namespace is None
        if route.subresource is None:
            if route.name is None:
                if method == "GET":
                    return watching.watch if (call.flag("watch") or route.legacy_watch) else reading.list_objects
                if method == "POST" and not needs_namespace:
                    return writing.create
                if method == "DELETE" and not needs_namespace:
                    return writing.delete_collection
                raise method_not_allowed(method, res.resource)
            if needs_namespace:
                raise not_found_path()
            verbs: dict[str, Callable[..., Any]] = {"GET": reading.get, "PUT": writing.update,
                                                    "PATCH": patching.patch, "DELETE": writing.delete}
        elif needs_namespace or route.name is None:
            raise not_found_path()
        elif route.subresource == "status" and res.has_status:
            verbs = {"GET": reading.get, "PUT": _status_update, "PATCH": _status_patch}
        elif route.subresource == "scale" and res.scale:
            verbs = {"GET": subresources.get_scale, "PUT": subresources.update_scale,
                     "PATCH": subresources.patch_scale}
        elif route.subresource == "binding" and res.kind == "Pod":
            verbs = {"POST": subresources.bind}
        else:
            raise not_found_path()
        if method not in verbs:
            raise method_not_allowed(method, res.resource)
        return verbs[method]


def _status_update(ctx: Context, call: Call) -> tuple[int, bytes]:
    return writing.update(ctx, call, status_only=True)


def _status_patch(ctx: Context, call: Call) -> tuple[int, bytes]:
    return patching.patch(ctx, call, status_only=True)

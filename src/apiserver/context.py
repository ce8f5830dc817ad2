"""What every handler gets: the server's shared parts (Context) and the request it serves (Call)."""
from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, TypeVar

import objects

from .errors import bad_request
from .resources import APIResource, Catalog
from .routing import ResourcePath

T = TypeVar("T")


@dataclass
class Context:
    """The Registry, the served resources, the thread pool for blocking Registry calls, the watch fan-out."""

    registry: Any
    catalog: Catalog
    executor: ThreadPoolExecutor
    max_body_bytes: int
    bookmark_interval: float
    fanout: Any = None
    server_address: str = ""
    reader: Any = None

    def __post_init__(self) -> None:
        # Reads answer with the stored JSON: a view of the same store with the unstructured codec skips
        # decoding every object into a model only to encode it back (what was stored was validated).
        if self.reader is None:
            self.reader = objects.Registry(self.registry.store, codec=objects.UNSTRUCTURED,
                                           prefix=self.registry.prefix)
            for res in self.catalog.resources:  # the same storage layout as the Registry served
                self.reader.register_kind(self.registry.kind_info(res.kind))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking call (a Registry call) in the thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args))


@dataclass
class Call:
    """One resource request: the path parts, the resource, query parameters, headers and body."""

    path: ResourcePath
    res: APIResource
    query: Mapping[str, str]
    accept: str = ""
    content_type: str = ""
    body: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)

    def flag(self, name: str) -> bool:
        """A boolean query parameter ("true", "1"; "false", "0", absent)."""
        value = self.query.get(name, "")
        if value in ("", "false", "0", "False"):
            return False
        if value in ("true", "1", "True"):
            return True
        raise bad_request(f'invalid value for {name}: "{value}": must be a boolean')

    def integer(self, name: str) -> int | None:
        """An integer query parameter, None when absent."""
        value = self.query.get(name)
        if value in (None, ""):
            return None
        try:
            number = int(value)
        except ValueError:
            raise bad_request(f'invalid value for {name}: "{value}": must be an integer') from None
        return number

    def scope(self) -> dict[str, Any]:
        """The Registry's namespace arguments of a list or watch: a collection path without a namespace
        reads every namespace of a namespaced kind (``/api/v1/pods``, kubectl's ``-A``)."""
        if self.res.namespaced and self.path.namespace is None:
            return {"namespace": None, "all_namespaces": True}
        return {"namespace": self.path.namespace}

    @property
    def dry_run(self) -> bool:
        """``dryRun=All``: validate, write nothing (any other value is refused, as the API server does)."""
        values = [v for v in self.query.getall("dryRun", [])] if hasattr(self.query, "getall") else (
            [self.query["dryRun"]] if "dryRun" in self.query else [])
        for value in values:
            if value != "All":
                raise bad_request(f'Invalid dryRun value: "{value}": supported values: "All"')
        return bool(values)

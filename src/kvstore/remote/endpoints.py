"""Parse the ``endpoints`` argument of :func:`kvstore.connect`: etcd's client URLs or ``host:port``."""
from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from ..errors import InvalidArgument

__all__ = ["Endpoint", "parse_endpoints"]

DEFAULT_PORT = 2379  # etcd's client port


class Endpoint:
    """One etcd member's client address: ``host``, ``port`` and whether it speaks TLS."""

    __slots__ = ("host", "port", "tls")

    def __init__(self, host: str, port: int, tls: bool) -> None:
        self.host = host
        self.port = port
        self.tls = tls

    @property
    def target(self) -> str:
        """The gRPC target ``host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __repr__(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.target}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Endpoint) and (self.host, self.port, self.tls) == (other.host, other.port, other.tls)

    def __hash__(self) -> int:
        return hash((self.host, self.port, self.tls))


def parse_endpoints(endpoints: str | Iterable[str], *, tls_default: bool = False) -> list[Endpoint]:
    """``"127.0.0.1:2379,127.0.0.1:22379"``, ``["http://127.0.0.1:2379"]``, ``"etcd://host:2379"`` ...

    A scheme decides TLS (``https``/``etcds``: yes; ``http``/``etcd``: no); without one, TLS is used when
    certificates were given (``tls_default``), as etcdctl does. Duplicates are dropped, order is kept.
    """
    if isinstance(endpoints, (bytes, bytearray)):
        raise InvalidArgument(f"endpoints={endpoints!r} must be str or a list of str, not bytes")
    items = endpoints.split(",") if isinstance(endpoints, str) else list(endpoints)
    parsed: list[Endpoint] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidArgument(f"endpoints item {item!r} is not a str")
        text = item.strip()
        if not text:
            continue
        endpoint = _parse_one(text, tls_default)
        if endpoint not in parsed:
            parsed.append(endpoint)
    if not parsed:
        raise InvalidArgument(f"endpoints={endpoints!r} names no endpoint (expected host:port or a URL)")
    return parsed


def _parse_one(text: str, tls_default: bool) -> Endpoint:
    has_scheme = "://" in text
    split = urlsplit(text if has_scheme else f"//{text}")
    scheme = split.scheme.lower()
    if scheme in ("http", "etcd", "unix") or not has_scheme:
        tls = tls_default if not has_scheme else False
    elif scheme in ("https", "etcds"):
        tls = True
    else:
        raise InvalidArgument(f"endpoint {text!r}: unknown scheme {scheme!r} (use http, https, etcd or host:port)")
    if split.path not in ("", "/"):
        raise InvalidArgument(f"endpoint {text!r}: a path is not allowed (got {split.path!r})")
    try:
        port = split.port or DEFAULT_PORT
    except ValueError:
        raise InvalidArgument(f"endpoint {text!r}: the port is not a number in 1..65535") from None
    if not split.hostname:
        raise InvalidArgument(f"endpoint {text!r}: no host")
    return Endpoint(split.hostname, port, tls)

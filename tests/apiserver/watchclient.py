"""Reading a watch stream line by line with a bound on the wait."""
from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import urlsplit


class WatchReader:
    """An open ``?watch=1`` response; ``next(timeout)`` gives the next event (None on timeout)."""

    def __init__(self, url: str, path: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.conn.request("GET", path, headers=headers or {})
        self.response = self.conn.getresponse()
        self.status = self.response.status

    def next(self, timeout: float = 10.0) -> Any:
        self.conn.sock.settimeout(timeout)
        try:
            line = self.response.readline()
        except (socket.timeout, TimeoutError):
            return None
        return json.loads(line) if line.strip() else None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "WatchReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

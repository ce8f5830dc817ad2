"""Bearer-token authentication: with a token configured, every request must carry
``Authorization: Bearer <token>`` (401 otherwise); without one the server is anonymous."""
from __future__ import annotations

import hmac
from typing import Mapping


def authorized(headers: Mapping[str, str], token: str | None) -> bool:
    """Whether a request with these headers may proceed (compared in constant time)."""
    if token is None:
        return True
    scheme, _, given = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())

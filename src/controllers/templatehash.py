"""Hashes that name what a workload controller creates from a template, as Kubernetes computes them:
FNV-1a 32 over the object, then the collision count (4 little-endian bytes in an 8-byte buffer), printed
in decimal and "safe-encoded" (each digit mapped to a consonant or digit so the result never spells a
word: rand.SafeEncodeString).

Kubernetes feeds the hasher a go-spew dump of the Go struct; here the hasher is fed the object's canonical
JSON (sorted keys, no spaces), so the hashes have the same shape and properties (stable for an equal
template, different for a different one, changed by the collision count) but not the same values as
Kubernetes' (docs/controllers.md).
"""
from __future__ import annotations

import json
from typing import Any

__all__ = ["fnv32a", "fnv32", "safe_encode", "compute_hash", "revision_hash", "POD_TEMPLATE_HASH",
           "canonical_json"]

POD_TEMPLATE_HASH = "pod-template-hash"   # DefaultDeploymentUniqueLabelKey
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET, _FNV_PRIME = 0x811C9DC5, 0x01000193


def fnv32a(data: bytes, h: int = _FNV_OFFSET) -> int:
    """FNV-1a, 32 bits (hash/fnv.New32a), continuing from ``h``."""
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def fnv32(data: bytes, h: int = _FNV_OFFSET) -> int:
    """FNV-1, 32 bits (hash/fnv.New32), continuing from ``h``."""
    for byte in data:
        h = ((h * _FNV_PRIME) & 0xFFFFFFFF) ^ byte
    return h


def safe_encode(s: str) -> str:
    """rand.SafeEncodeString: each character mapped into an alphabet without vowels."""
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in s)


def canonical_json(value: Any) -> bytes:
    """The bytes hashed for ``value`` (a model object or JSON data)."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def compute_hash(value: Any, collision_count: int | None = None) -> str:
    """controller.ComputeHash / history.HashControllerRevision: the safe-encoded FNV-1a of ``value``
    (a model object, JSON data or bytes) and the collision count when given."""
    data = value if isinstance(value, bytes) else canonical_json(value)
    h = fnv32a(data)
    if collision_count is not None:
        h = fnv32a((collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\0\0\0\0", h)
    return safe_encode(str(h))


def revision_hash(data: Any, collision_count: int | None = None) -> str:
    """history.HashControllerRevision: the safe-encoded FNV-1 of a ControllerRevision's data and the
    collision count in decimal when given (names the revision "<owner>-<hash>")."""
    h = fnv32(canonical_json(data))
    if collision_count is not None:
        h = fnv32(str(collision_count).encode(), h)
    return safe_encode(str(h))

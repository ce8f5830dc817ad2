"""Object uids: random (version 4) UUIDs, as the API server's ``uuid.NewUUID`` gives them.

``uuid.uuid4()`` reads 16 bytes from ``os.urandom`` per call, a system call that releases the GIL: with the
scheduler and a watcher running beside the thread that creates pods, each release handed the GIL away and
the creating thread waited to get it back (the largest single item of Registry.create in a sampling profile
of the end-to-end bench). The same operating-system randomness is read 4 KiB at a time instead: one system
call per 256 uids, every uid still 122 random bits from ``os.urandom``.
"""
from __future__ import annotations

import os
import threading

__all__ = ["new_uid", "uuid4_text"]

_UID_BYTES = 16
_BATCH = _UID_BYTES * 256


class _UidSource:
    """Slices of one ``os.urandom`` read, handed out once each (thread-safe; emptied in a forked child, so
    a child never hands out the uids its parent has not used yet)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._at = 0

    def reset(self) -> None:
        self._lock = threading.Lock()  # a lock held by another thread at fork time stays held in the child
        self._buffer = b""
        self._at = 0

    def __call__(self) -> str:
        with self._lock:
            at = self._at
            if at >= len(self._buffer):
                self._buffer, at = os.urandom(_BATCH), 0
            self._at = at + _UID_BYTES
            chunk = self._buffer[at:at + _UID_BYTES]
        return uuid4_text(chunk)


def uuid4_text(chunk: bytes) -> str:
    """``str(uuid.UUID(bytes=chunk, version=4))`` of 16 bytes: the version and variant bits set, the
    8-4-4-4-12 hex form, without building the UUID object (three quarters of a uid's cost)."""
    b = bytearray(chunk)
    if len(b) != _UID_BYTES:
        raise ValueError(f"chunk: Invalid value: {len(b)} bytes: must be {_UID_BYTES}")
    b[6] = (b[6] & 0x0F) | 0x40  # version 4
    b[8] = (b[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_SOURCE = _UidSource()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_SOURCE.reset)


def new_uid() -> str:
    """A new random uid ("4b1c…-…", a version 4 UUID in its 36-character form)."""
    return _SOURCE()

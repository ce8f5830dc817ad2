"""The exact pysyncobj release our guards were written against, checked once at import.

Every guard in this package reaches into pysyncobj internals (name-mangled methods, the journal
factory, the apply path). Those internals change between releases, so a different version must
fail loudly here instead of silently running without a guard.
"""
from __future__ import annotations

import pysyncobj
import pysyncobj.encryptor as _encryptor
import pysyncobj.poller as _poller
import pysyncobj.syncobj as _syncobj
import pysyncobj.tcp_connection as _tcp_connection
from pysyncobj.version import VERSION

from ..errors import KVError

PINNED_VERSION = "0.3.17"

# The names our guards override or call; each must exist in the pinned release.
_REQUIRED = (
    "_SyncObj__onMessageReceived",
    "_SyncObj__doApplyCommand",
    "_SyncObj__sendNextNodeIdx",
    "_SyncObj__getCurrentLogIndex",
    "_SyncObj__applyLogEntries",
    "_applyCommand",
)

# frames.py, ticklock.py and raftnode.py reach into these (instance attributes are created in the
# constructors of these classes).
_REQUIRED_ELSEWHERE = (
    (_tcp_connection.TcpConnection, "_TcpConnection__trySendBuffer"),
    (_tcp_connection.TcpConnection, "_TcpConnection__processConnection"),
    (_tcp_connection.TcpConnection, "_TcpConnection__processParseMessage"),
    (_tcp_connection, "monotonicTime"),
    (_syncobj, "monotonicTime"),
    (_poller, "Poller"),
    (_syncobj, "createPoller"),
    (_encryptor, "SALT"),
)


class UnsupportedPysyncobj(KVError, ImportError):
    """pysyncobj is not the release the replication guards were written for."""


def check_pinned_version(version: str = VERSION) -> None:
    """Raise UnsupportedPysyncobj unless pysyncobj is exactly the pinned release."""
    if version != PINNED_VERSION:
        raise UnsupportedPysyncobj(
            f"pysyncobj version {version!r} is not supported: the replication guards are pinned to "
            f"{PINNED_VERSION!r} (pip install pysyncobj=={PINNED_VERSION})")
    missing = [name for name in _REQUIRED if not hasattr(_syncobj.SyncObj, name)]
    missing += [f"{owner.__name__}.{name}" for owner, name in _REQUIRED_ELSEWHERE if not hasattr(owner, name)]
    if missing:
        raise UnsupportedPysyncobj(f"pysyncobj {version} lacks {missing}; the guards cannot be installed")


check_pinned_version()

SyncObj = pysyncobj.SyncObj
SyncObjConf = pysyncobj.SyncObjConf
FAIL_REASON = pysyncobj.FAIL_REASON
REGULAR_COMMAND = b"\x00"  # pysyncobj's _COMMAND_TYPE.REGULAR tag byte

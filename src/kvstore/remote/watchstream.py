"""Every watcher of one client on one gRPC watch stream, as etcd's clientv3 multiplexes a context's watchers.

etcd answers the create requests of a stream in the order they were sent, each with the watch id it chose;
later responses carry that id (progress broadcasts carry -1). So the stream keeps a FIFO of watchers whose
create is in flight and a map from etcd's ids to watchers, and hands each response to its watcher. One reader
thread (and gRPC's request thread) serve any number of watchers.

When the stream breaks (its member died, or lost its leader: the stream carries etcd's ``hasleader``
metadata, clientv3's ``WithRequireLeader``), a new one is opened on the next endpoint and every live watcher
is created again from the revision after the last one it queued. A watcher whose consumer falls behind is
*detached* (its etcd watch canceled) instead of blocking the stream, and attached again, from the revision
after its last queued one, once its consumer has caught up: etcd replays the gap from its history (or the
watcher ends with ``Compacted`` if the gap was compacted meanwhile), as the embedded hub's unsynced watchers
catch up from the state machine's history.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import grpc
from aetcd import rpc

from ..errors import KVError
from .grpcerrors import AUTH_EXPIRED, FINAL, map_error, retry_class

if TYPE_CHECKING:
    from .connection import Connection
    from .watcher import RemoteWatcher

__all__ = ["WatchStream"]

_REQUIRE_LEADER = ("hasleader", "true")
_RESUME_PAUSE = 0.05  # between two attempts to open a stream, so a dead cluster is not spun on
_BROADCAST = -1  # etcd's watch id of a progress notification sent to every watch of the stream


class WatchStream:
    """The watch stream of one client (opened with the first watcher, kept until the client closes)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self._watchers: dict[int, RemoteWatcher] = {}  # attached watchers, by local id
        self._pending: deque[RemoteWatcher] = deque()  # create sent on this stream, "created" not seen yet
        self._by_etcd_id: dict[int, RemoteWatcher] = {}
        self._progress_targets: deque[list[RemoteWatcher] | None] = deque()
        self._requests: queue.SimpleQueue[Any] | None = None  # the open stream's request queue
        self._call: Any = None
        self._thread: threading.Thread | None = None
        self._closed = False

    # ------------------------------------------------------------------ called by watchers and the client
    def attach(self, watcher: RemoteWatcher) -> None:
        """Create ``watcher``'s etcd watch (from its resume revision) on the stream, opening it if needed."""
        with self._lock:
            if self._closed:
                return
            self._watchers[watcher.id] = watcher
            if self._requests is not None:
                self._pending.append(watcher)
                self._requests.put(watcher._create_request())
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kvstore-etcd-watch", daemon=True)
                self._thread.start()

    def detach(self, watcher: RemoteWatcher) -> None:
        """Cancel ``watcher``'s etcd watch; nothing more is handed to it until it is attached again."""
        with self._lock:
            self._watchers.pop(watcher.id, None)
            etcd_id = watcher._etcd_watch_id
            if etcd_id is not None and self._by_etcd_id.get(etcd_id) is watcher:
                del self._by_etcd_id[etcd_id]
                if self._requests is not None:
                    self._requests.put(rpc.WatchRequest(cancel_request=rpc.WatchCancelRequest(watch_id=etcd_id)))
            watcher._etcd_watch_id = None
            # a create still in flight is canceled when its "created" arrives (see _created)

    def request_progress(self, targets: list[RemoteWatcher] | None) -> None:
        """Ask etcd for a progress notification; it is handed to ``targets`` (None: every watcher created
        with ``progress_notify=True``)."""
        with self._lock:
            if self._requests is None:
                return  # no stream: nothing is synced to report on (as etcd, which only tells synced watches)
            self._progress_targets.append(targets)
            self._requests.put(rpc.WatchRequest(progress_request=rpc.WatchProgressRequest()))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            call, self._call = self._call, None
            thread = self._thread
        if call is not None:
            call.cancel()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)

    # ------------------------------------------------------------------ the reader thread
    def _run(self) -> None:
        while True:
            index = self._connection.current
            try:
                stubs = self._connection.stubs(index)
                metadata = (*(self._connection.metadata or ()), _REQUIRE_LEADER)
            except KVError as error:
                self._end_all(error)
                return
            requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
            with self._lock:
                if self._closed:
                    return
                self._requests = requests
                self._pending = deque(w for w in self._watchers.values() if not w.canceled)
                self._by_etcd_id = {}
                self._progress_targets.clear()
                for watcher in self._pending:
                    watcher._etcd_watch_id = None
                    requests.put(watcher._create_request())
                call = self._call = stubs.watch.Watch(iter(requests.get, None), metadata=metadata)
            try:
                for response in call:
                    self._route(response)
            except grpc.RpcError as error:
                if self._closed:
                    return
                kind = retry_class(error)
                if kind == FINAL:
                    self._end_all(map_error(error, where=f" {stubs.endpoint!r} watch"))
                    return
                if kind == AUTH_EXPIRED:
                    try:
                        self._connection.authenticate(stale=(self._connection.metadata or (("", ""),))[0][1])
                    except KVError as auth_error:
                        self._end_all(auth_error)
                        return
            finally:
                requests.put(None)
                with self._lock:
                    if self._requests is requests:
                        self._requests = None
            if self._closed:
                return
            # the stream ended (member gone, or it lost its leader): every watcher resumes on the next endpoint
            self._connection.fail_over(index)
            time.sleep(_RESUME_PAUSE)

    def _route(self, response: Any) -> None:
        if response.created:
            with self._lock:
                watcher = self._pending.popleft() if self._pending else None
                attached = watcher is not None and self._watchers.get(watcher.id) is watcher
                if attached:
                    self._by_etcd_id[response.watch_id] = watcher
                    watcher._etcd_watch_id = response.watch_id
                elif self._requests is not None and not response.canceled:
                    # detached or canceled while its create was in flight
                    self._requests.put(rpc.WatchRequest(
                        cancel_request=rpc.WatchCancelRequest(watch_id=response.watch_id)))
            if attached:
                assert watcher is not None
                watcher._take(response)
            return
        if response.watch_id == _BROADCAST and not response.events:
            with self._lock:
                targets = self._progress_targets.popleft() if self._progress_targets else None
                if targets is None:
                    targets = [w for w in self._watchers.values() if w.progress_notify]
                targets = [w for w in targets if self._watchers.get(w.id) is w and w._etcd_watch_id is not None]
            for watcher in targets:
                watcher._take(response)
            return
        with self._lock:
            watcher = self._by_etcd_id.get(response.watch_id)
            if watcher is not None and response.canceled:
                del self._by_etcd_id[response.watch_id]
                self._watchers.pop(watcher.id, None)
        if watcher is not None:
            watcher._take(response)

    def _end_all(self, error: KVError) -> None:
        with self._lock:
            watchers = list(self._watchers.values())
            self._watchers.clear()
            self._thread = None
        for watcher in watchers:
            watcher._finish(error)

"""The leader's fsync on its own thread, started as its AppendEntries leave (Raft thesis §10.2.1).

A leader must not count its own copy of an entry towards a commit before that copy is on disk,
but nothing says it must write it before sending the entry to its followers. Done on pysyncobj's
tick thread, the fsync would wait until the AppendEntries of the tick were encoded and sent, and
would then block the thread that reads the followers' acknowledgements. Here a thread of its own
fsyncs the journal (`DurableJournal.sync`, which releases the GIL in the system calls) while the
tick thread sends and reads; the tick thread's own `sync()` before it computes a commit waits for
this one to finish, so the ordering "on disk before counted" is unchanged. Used for entries the
tick thread appends; a caller that appends its own entry (`RaftNode.propose_now`) has nothing else
to do until it commits, so it fsyncs on its own thread instead of waking this one.
"""
from __future__ import annotations

import threading
from typing import Callable, Optional

from .journal import DurableJournal


class LeaderSync:
    """A thread that syncs `journal` whenever `start()` is called (repeated calls coalesce)."""

    def __init__(self, journal: DurableJournal, on_durable: Optional[Callable[[], None]] = None) -> None:
        self._journal = journal
        self._on_durable = on_durable
        self._wanted = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="raft-leader-fsync", daemon=True)
        self._thread.start()

    def start(self) -> None:
        """Have everything appended so far written and fsynced soon, without waiting for it."""
        self._wanted.set()

    def stop(self) -> None:
        """End the thread (after the sync in flight, if any)."""
        self._stopped = True
        self._wanted.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopped:
                return
            try:
                self._journal.sync()
            except OSError:
                continue  # the records stay buffered: the tick thread's sync() retries and reports it
            if self._on_durable is not None:
                self._on_durable()

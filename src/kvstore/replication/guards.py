"""The AppendEntries truncation guard (pysyncobj 0.3.17, issue 3 point 4).

On an AppendEntries whose previous entry matches, pysyncobj deletes *every* local entry after
`prevLogIdx` whenever more exist, then appends the message's entries, even when the local entries
are identical to the leader's. A stale or duplicated AppendEntries (a retransmission, a reordered
message of the same term) therefore cuts committed entries out of a follower; with one more
failure a committed entry can vanish from a majority. Raft (§5.3) allows deleting only from the
first entry whose term conflicts with the leader's.

`trim_append_entries` rewrites the message before pysyncobj sees it so that its own code does the
right thing: entries the follower already holds are skipped, `prevLogIdx` moves up to the last
matching one, and when nothing conflicts but the follower holds more (the stale case) the message is
turned into a plain heartbeat (no `prevLogIdx`, nothing deleted) whose acknowledgement the member
sends itself. The commit index is clamped to the last entry known to match, as Raft requires.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

TermAt = Callable[[int], Optional[int]]


def trim_append_entries(message: dict[str, Any], term_at: TermAt,
                        last_index: int) -> tuple[dict[str, Any], Optional[int]]:
    """Return (message to hand to pysyncobj, next index to acknowledge ourselves or None).

    `term_at(index)` gives the term of the local entry at `index` (None when absent) and
    `last_index` is the index of the last local entry.
    """
    if message.get("type") != "append_entries" or "prevLogIdx" not in message or "transmission" in message:
        return message, None
    prev_index, prev_term = message["prevLogIdx"], message["prevLogTerm"]
    if prev_index is None or term_at(prev_index) != prev_term:
        return message, None  # pysyncobj rejects it and the leader backs off: nothing is deleted
    if last_index <= prev_index:
        return message, None  # the usual case: nothing held after prevLogIdx, nothing to trim or delete
    entries = list(message.get("entries") or ())
    matched = 0
    for _command, index, term in entries:
        if term_at(index) != term:
            break
        matched += 1
    if matched:
        _command, prev_index, prev_term = entries[matched - 1]
    rest = entries[matched:]
    if rest or last_index <= prev_index:
        # Something new to append (after the last matching entry) or nothing held beyond it:
        # pysyncobj deletes from prev_index + 1, which is exactly the first conflict.
        trimmed = dict(message, prevLogIdx=prev_index, prevLogTerm=prev_term, entries=rest)
        return trimmed, None
    # Everything in the message is already held and more follows it: delete nothing.
    heartbeat = {key: value for key, value in message.items()
                 if key not in ("prevLogIdx", "prevLogTerm", "entries")}
    heartbeat["commit_index"] = min(message["commit_index"], prev_index)
    return heartbeat, prev_index + 1

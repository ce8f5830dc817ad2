"""Object uids: version 4 UUIDs, unique across threads and across a fork."""
from __future__ import annotations

import os
import threading
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from objects.uids import new_uid, uuid4_text


def test_uid_is_a_version_4_uuid_in_its_text_form() -> None:
    uid = new_uid()
    parsed = uuid.UUID(uid)
    assert str(parsed) == uid
    assert parsed.version == 4
    assert parsed.variant == uuid.RFC_4122


def test_uids_are_unique_across_batches_and_threads() -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def take() -> None:
        mine = [new_uid() for _ in range(700)]  # more than one 256-uid batch per thread
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(seen) == 2800
    assert len(set(seen)) == 2800


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_does_not_repeat_the_parents_next_uids() -> None:
    new_uid()  # a batch is read and partly used: the rest must not be handed out by both processes
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write_end, "\n".join(new_uid() for _ in range(10)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    child = set(b"".join(chunks).decode().split("\n"))
    parent = {new_uid() for _ in range(10)}
    assert len(child) == 10
    assert not child & parent


@given(st.binary(min_size=16, max_size=16))
def test_the_text_of_16_bytes_is_the_uuid_modules(chunk: bytes) -> None:
    assert uuid4_text(chunk) == str(uuid.UUID(bytes=chunk, version=4))

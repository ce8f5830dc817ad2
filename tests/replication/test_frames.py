"""frames.py: our leaner Fernet tokens and uncompressed frames are exactly what pysyncobj reads and writes."""
from __future__ import annotations

import base64
import pickle
import socket
import struct
import time
import zlib

import pytest
from cryptography.fernet import Fernet, InvalidToken
from hypothesis import given, settings
from hypothesis import strategies as st
from pysyncobj.encryptor import getEncryptor
from pysyncobj.poller import createPoller
from pysyncobj.tcp_connection import CONNECTION_STATE, TcpConnection

from kvstore.replication.frames import (XORED_BYTES_MAX, CompactConnection, FernetCodec, derive_key, zlib_stored,
                                        zlib_unstored)

from .support import SECRET

SECRET_BYTES = SECRET.encode()
PYSYNCOBJ_FERNET = getEncryptor(SECRET_BYTES)  # pysyncobj's own key derivation, for the comparison
CODEC = FernetCodec(SECRET_BYTES)


def test_key_is_the_one_pysyncobj_derives() -> None:
    token = PYSYNCOBJ_FERNET.encrypt(b"x")
    assert Fernet(base64.urlsafe_b64encode(derive_key(SECRET_BYTES))).decrypt(token) == b"x"


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=6000), stamp=st.integers(min_value=0, max_value=2 ** 40))
def test_tokens_interoperate_with_fernet_both_ways(data: bytes, stamp: int) -> None:
    ours = CODEC.encrypt_at_time(data, stamp)
    assert PYSYNCOBJ_FERNET.decrypt(ours) == data
    assert PYSYNCOBJ_FERNET.extract_timestamp(ours) == stamp
    theirs = PYSYNCOBJ_FERNET.encrypt_at_time(data, stamp)
    codec = FernetCodec(SECRET_BYTES)
    assert codec.extract_timestamp(theirs) == stamp
    assert codec.decrypt(theirs) == data
    assert FernetCodec(SECRET_BYTES).decrypt(theirs) == data  # decrypt alone checks the token too


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, XORED_BYTES_MAX - 17, XORED_BYTES_MAX - 16, XORED_BYTES_MAX - 1,
                                  XORED_BYTES_MAX, XORED_BYTES_MAX + 16, 70_000])
def test_every_cipher_path_interoperates(size: int) -> None:
    # small tokens are deciphered block by block, large ones with a CBC context: both must be Fernet
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert PYSYNCOBJ_FERNET.decrypt(CODEC.encrypt_at_time(data, size)) == data
    assert FernetCodec(SECRET_BYTES).decrypt(PYSYNCOBJ_FERNET.encrypt_at_time(data, size)) == data


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=1, max_size=200), position=st.integers(min_value=0), flip=st.integers(1, 255))
def test_any_changed_byte_is_refused(data: bytes, position: int, flip: int) -> None:
    raw = bytearray(base64.urlsafe_b64decode(CODEC.encrypt_at_time(data, 7)))
    raw[position % len(raw)] ^= flip
    forged = base64.urlsafe_b64encode(bytes(raw))
    codec = FernetCodec(SECRET_BYTES)
    with pytest.raises(InvalidToken):
        codec.extract_timestamp(forged)
    with pytest.raises(InvalidToken):
        codec.decrypt(forged)


@pytest.mark.parametrize("token", [b"", b"not base64 !!", base64.urlsafe_b64encode(b"\x80" + b"\0" * 40),
                                   Fernet(Fernet.generate_key()).encrypt(b"other key")])
def test_short_malformed_and_foreign_tokens_are_refused(token: bytes) -> None:
    with pytest.raises(InvalidToken):
        FernetCodec(SECRET_BYTES).decrypt(token)


def test_a_checked_token_is_not_confused_with_another() -> None:
    codec = FernetCodec(SECRET_BYTES)
    first, second = codec.encrypt_at_time(b"first", 1), codec.encrypt_at_time(b"second", 2)
    assert codec.extract_timestamp(first) == 1
    assert codec.decrypt(second) == b"second"
    assert codec.decrypt(first) == b"first"


def _exchange(sender: type, receiver_cls: type, receiver_encryptor, message) -> tuple[list, bool]:
    """Send `message` over a real socket pair from a `sender` connection to a `receiver_cls` one;
    returns what arrived and whether the receiver kept the connection."""
    poller = createPoller("auto")
    left, right = socket.socketpair()
    for s in (left, right):
        s.setblocking(False)
    received: list = []
    out = sender(poller=poller, socket=left)
    out.encryptor = CODEC if isinstance(out, CompactConnection) else PYSYNCOBJ_FERNET
    into = receiver_cls(poller=poller, socket=right, onMessageReceived=received.append)
    into.encryptor = receiver_encryptor
    try:
        out.send(message)
        deadline = time.monotonic() + 5
        while not received and into.state == CONNECTION_STATE.CONNECTED and time.monotonic() < deadline:
            poller.poll(0.05)
        return received, into.state == CONNECTION_STATE.CONNECTED
    finally:
        out.disconnect()
        into.disconnect()


MESSAGE = {"type": "append_entries", "term": 3, "entries": [(b"\x00" + bytes(range(256)) * 40, 7, 3)]}


def test_compact_frames_are_read_by_stock_pysyncobj() -> None:
    assert _exchange(CompactConnection, TcpConnection, PYSYNCOBJ_FERNET, MESSAGE) == ([MESSAGE], True)


def test_stock_pysyncobj_frames_are_read_with_our_codec() -> None:
    assert _exchange(TcpConnection, CompactConnection, CODEC, MESSAGE) == ([MESSAGE], True)


def test_a_frame_under_another_secret_is_dropped_with_the_connection() -> None:
    stranger = FernetCodec(b"another-secret-0123456789")
    assert _exchange(CompactConnection, CompactConnection, stranger, MESSAGE) == ([], False)


def test_tokens_from_one_codec_in_a_row_and_from_threads_are_each_fernet() -> None:
    # the encrypting CBC context is shared by every token: each must still stand alone, under its own IV
    import threading

    codec = FernetCodec(SECRET_BYTES)
    tokens: list[tuple[bytes, bytes]] = []

    def encrypt(tag: int) -> None:
        for i in range(200):
            data = bytes([tag]) * (i % 70)
            tokens.append((data, codec.encrypt_at_time(data, i)))

    threads = [threading.Thread(target=encrypt, args=(tag,)) for tag in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(tokens) == 800
    ivs = {base64.urlsafe_b64decode(token)[9:25] for _data, token in tokens}
    assert len(ivs) == 800
    for data, token in tokens:
        assert PYSYNCOBJ_FERNET.decrypt(token) == data


def _receiver(sock: socket.socket, received: list) -> tuple:
    poller = createPoller("auto")
    sock.setblocking(False)
    into = CompactConnection(poller=poller, socket=sock, onMessageReceived=received.append)
    into.encryptor = FernetCodec(SECRET_BYTES)
    return poller, into


def _poll_until(poller, condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        poller.poll(0.05)


def test_frames_in_one_read_split_over_reads_and_larger_than_the_buffer_all_arrive() -> None:
    left, right = socket.socketpair()
    received: list = []
    poller, into = _receiver(right, received)
    frames = [CODEC.encrypt_at_time(zlib.compress(pickle.dumps(m, 4), 0), 1)
              for m in ({"n": 1}, {"n": 2}, MESSAGE, {"n": 3})]  # MESSAGE exceeds the 8 KiB read size
    wire = b"".join(struct.pack("i", len(f)) + f for f in frames)
    try:
        left.sendall(wire[:7])  # not even a whole first frame
        _poll_until(poller, lambda: False, 0.2)
        assert received == []
        left.sendall(wire[7:])
        _poll_until(poller, lambda: len(received) == 4)
        assert received == [{"n": 1}, {"n": 2}, MESSAGE, {"n": 3}]
        assert into.state == CONNECTION_STATE.CONNECTED
        left.close()  # the peer's close shows in the read itself
        _poll_until(poller, lambda: into.state != CONNECTION_STATE.CONNECTED)
        assert into.state == CONNECTION_STATE.DISCONNECTED
    finally:
        left.close()
        into.disconnect()


@pytest.mark.parametrize("forge", ["older timestamp", "not a token", "wrong random key"])
def test_a_replayed_or_forged_frame_ends_the_connection(forge: str) -> None:
    left, right = socket.socketpair()
    received: list = []
    poller, into = _receiver(right, received)
    into.recvRandKey = b"k" * 32
    first = CODEC.encrypt_at_time(zlib.compress(pickle.dumps((b"k" * 32, {"n": 1}), 4), 0), 50)
    second = {
        "older timestamp": CODEC.encrypt_at_time(zlib.compress(pickle.dumps((b"k" * 32, {"n": 2}), 4), 0), 49),
        "not a token": b"x" * 120,
        "wrong random key": CODEC.encrypt_at_time(zlib.compress(pickle.dumps((b"j" * 32, {"n": 2}), 4), 0), 50),
    }[forge]
    try:
        left.sendall(b"".join(struct.pack("i", len(f)) + f for f in (first, second)))
        _poll_until(poller, lambda: into.state != CONNECTION_STATE.CONNECTED)
        assert received == [{"n": 1}]
        assert into.state == CONNECTION_STATE.DISCONNECTED
    finally:
        left.close()
        into.disconnect()


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3000), level=st.integers(min_value=0, max_value=9))
def test_stored_zlib_streams_are_zlibs_own(data: bytes, level: int) -> None:
    assert zlib_stored(data) == zlib.compress(data, 0)
    assert zlib_unstored(zlib_stored(data)) == data
    assert zlib_unstored(zlib.compress(data, level)) == data  # a stock pysyncobj peer compresses at 3


@pytest.mark.parametrize("size", [65_535, 65_536, 200_000])
def test_stored_zlib_streams_over_one_block(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert zlib.decompress(zlib_stored(data)) == data
    assert zlib_unstored(zlib_stored(data)) == data


def test_a_stored_stream_with_a_wrong_checksum_is_refused() -> None:
    stream = bytearray(zlib_stored(b"some entry"))
    stream[-1] ^= 1
    with pytest.raises(zlib.error):
        zlib_unstored(bytes(stream))


def test_a_frame_larger_than_the_socket_buffer_is_sent_in_parts() -> None:
    big = {"type": "append_entries", "entries": [(bytes(range(256)) * 4096, 8, 3)]}  # 1 MiB
    assert _exchange(CompactConnection, TcpConnection, PYSYNCOBJ_FERNET, big) == ([big], True)

"""pysyncobj's frames at a lower CPU cost, byte-compatible with pysyncobj 0.3.17 on the wire.

A pysyncobj frame is `Fernet(zlib(pickle(message)))`. On a 2-core machine running three members,
about half of a member's CPU per replicated write went into that framing, mostly in Python layers
around the C primitives, and all of it sits on the write's critical path (leader encode, follower
decode, follower encode, leader decode). Three changes, none weakening the authentication:

- `FernetCodec` produces and checks exactly Fernet tokens (version 0x80, timestamp, IV, AES-128-CBC,
  HMAC-SHA256 over all of it, url-safe base64), keyed as pysyncobj keys them (PBKDF2-SHA256 of the
  secret). Instead of building Fernet's padder, HMAC and CBC cipher objects for every token, it keeps
  its contexts: one AES block context deciphers small tokens, one CBC context enciphers every token
  (each under its own random IV, folded into the first block), and the HMAC key is prepared once. It
  checks each token once: pysyncobj asks for the timestamp and then for the plaintext of the same
  token, and the second question is answered from the first check. Every token is authenticated
  (constant-time HMAC comparison) before anything is deciphered; the interoperability with
  `cryptography.fernet.Fernet` is tested both ways.
- `CompactConnection.send` writes zlib's stored format (level 0) instead of level 3: Raft messages
  of random ids and user values hardly shrink, and etcd does not compress its Raft traffic either.
  The receiver's `zlib.decompress` reads both, so mixed versions interoperate.
- It pickles with protocol 4 instead of pysyncobj's 2, under which every bytes object (log entries,
  the connection's random key) is written as a call of `_codecs.encode` on a latin-1 string:
  several times the work on both sides, and a third more bytes to encrypt. pysyncobj's receiver
  (`pickle.loads`) reads any protocol, so mixed versions interoperate here too.
"""
from __future__ import annotations

import binascii
import functools
import hashlib
import hmac
import os
import struct
import threading
import zlib
from typing import Any, Optional

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pysyncobj.encryptor import SALT
# pysyncobj's peer messages are its own pickled dicts (never a format of ours: our commands, journal and
# snapshots are msgpack); its module's pickle is used, loaded only from
# frames authenticated first (CompactConnection below).
from pysyncobj.pickle import pickle as pysyncobj_pickle
import pysyncobj.monotonic as _clock  # looked up per call: raftnode installs a cheaper reader of the same clock
from pysyncobj.poller import POLL_EVENT_TYPE
from pysyncobj.tcp_connection import CONNECTION_STATE, TcpConnection

KDF_ITERATIONS = 100_000  # pysyncobj's getEncryptor
_VERSION = b"\x80"
_HEAD = struct.Struct(">BQ")  # version, timestamp
_FRAME_HEAD = struct.Struct("i")  # pysyncobj's frame length prefix (native int)
_IV_END = _HEAD.size + 16
_MAC_BYTES = 32
_BLOCK = 16
XORED_BYTES_MAX = 2048  # above this, a CBC context deciphers faster than the block context + big-int XOR
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_b2a_base64 = binascii.b2a_base64
_IV_POOL_BYTES = 4096
_a2b_base64 = binascii.a2b_base64
PICKLE_PROTOCOL = 4  # pysyncobj writes 2, whose bytes objects go through copyreg; loads reads either


_ZLIB_STORED_HEAD = b"\x78\x01"  # what zlib.compress(data, 0) starts with
_STORED_BLOCK = struct.Struct("<BHH")  # BFINAL + BTYPE 00, LEN, NLEN
_STORED_MAX = 0xFFFF


def zlib_stored(data: bytes) -> bytes:
    """`zlib.compress(data, 0)`'s format (stored deflate blocks, Adler-32), built without zlib.

    A zlib stream object allocates and clears a quarter of a megabyte for every message, which
    also pushes the rest of the process's working set out of the CPU caches. Up to 64 KiB the output
    is byte for byte what zlib writes; above, the blocks are cut elsewhere, as valid for any reader.
    """
    size = len(data)
    adler = zlib.adler32(data).to_bytes(4, "big")
    if size <= _STORED_MAX:
        return b"".join((_ZLIB_STORED_HEAD, _STORED_BLOCK.pack(1, size, size ^ _STORED_MAX), data, adler))
    view = memoryview(data)
    parts: list[Any] = [_ZLIB_STORED_HEAD]
    for start in range(0, size, _STORED_MAX):
        chunk = view[start:start + _STORED_MAX]
        parts += (_STORED_BLOCK.pack(start + _STORED_MAX >= size, len(chunk), len(chunk) ^ _STORED_MAX), chunk)
    parts.append(adler)
    return b"".join(parts)


def zlib_unstored(data: bytes) -> bytes:
    """`zlib.decompress(data)`; a stream of one stored block (what members send) is unwrapped
    without zlib, its length and Adler-32 checked; any other stream goes to zlib."""
    size = len(data) - 11
    if data[:2] == _ZLIB_STORED_HEAD and 0 <= size <= _STORED_MAX:
        final, length, inverse = _STORED_BLOCK.unpack_from(data, 2)
        if final == 1 and length == size and inverse == size ^ _STORED_MAX:
            plain = data[7:7 + size]
            if zlib.adler32(plain).to_bytes(4, "big") == data[-4:]:
                return plain
            raise zlib.error("Adler-32 mismatch in a stored zlib stream")
    return zlib.decompress(data)


@functools.lru_cache(maxsize=8)
def derive_key(secret: bytes) -> bytes:
    """The 32-byte Fernet key pysyncobj derives from a cluster secret (signing half, then AES half)."""
    return hashlib.pbkdf2_hmac("sha256", secret, SALT, KDF_ITERATIONS, 32)


class FernetCodec:
    """Fernet tokens under the cluster secret, with the interface pysyncobj's connections call.

    Decryption of a small token uses one long-lived AES block context instead of a new CBC context
    per token (whose construction dominated the cost): it deciphers every block at once and XORs
    the result with the previous ciphertext blocks (CBC's definition). Encryption and large tokens
    use a CBC context. The HMAC key is prepared once. A token's MAC is checked, in constant time,
    before any of it is deciphered.
    """

    def __init__(self, secret: bytes) -> None:
        key = derive_key(secret)
        aes = algorithms.AES(key[16:])
        self._aes = aes
        mac = hmac.new(key[:16], digestmod=hashlib.sha256)
        self._mac = getattr(mac, "_hmac", None) or mac  # OpenSSL's object itself: copy/update/digest in C
        self._ivs = b""  # random bytes drawn ahead, 16 per token (one getrandom call per 256 tokens)
        self._ivs_used = 0
        self._decrypt_blocks = Cipher(aes, modes.ECB()).decryptor()
        self._lock = threading.Lock()  # the block contexts are stateful objects
        # One CBC context for every token this codec encrypts: its chaining value after a token is
        # that token's last ciphertext block (`_chain`), so XORing the next token's first block with
        # its own random IV and with `_chain` makes the context produce exactly CBC under that IV.
        self._encrypt_chained = Cipher(aes, modes.CBC(bytes(_BLOCK))).encryptor()
        self._chain = 0
        self._checked: tuple[Optional[bytes], int, bytes] = (None, 0, b"")

    def encrypt_at_time(self, data: bytes, current_time: int) -> bytes:
        """A Fernet token of `data` stamped `current_time` (pysyncobj stamps its monotonic clock)."""
        pad = _BLOCK - len(data) % _BLOCK
        padded = data + bytes((pad,)) * pad
        with self._lock:
            used = self._ivs_used
            if used >= len(self._ivs):
                self._ivs, used = os.urandom(_IV_POOL_BYTES), 0
            iv = self._ivs[used:used + _BLOCK]
            self._ivs_used = used + _BLOCK
            first = int.from_bytes(padded[:_BLOCK], "big") ^ int.from_bytes(iv, "big") ^ self._chain
            ciphertext = self._encrypt_chained.update(first.to_bytes(_BLOCK, "big") + padded[_BLOCK:])
            self._chain = int.from_bytes(ciphertext[-_BLOCK:], "big")
        body = _HEAD.pack(0x80, current_time) + iv + ciphertext
        return _b2a_base64(body + self._digest(body), newline=False).translate(_TO_URLSAFE)

    def open(self, token: bytes) -> tuple[int, bytes]:
        """(timestamp, plaintext) of an authentic token; InvalidToken otherwise."""
        return self._open(token)

    def extract_timestamp(self, token: bytes) -> int:
        """The timestamp of an authentic token; InvalidToken otherwise."""
        return self._open(token)[0]

    def decrypt(self, token: bytes) -> bytes:
        """The plaintext of an authentic token; InvalidToken otherwise."""
        return self._open(token)[1]

    def _digest(self, body: bytes) -> bytes:
        mac = self._mac.copy()
        mac.update(body)
        return mac.digest()

    def _open(self, token: bytes) -> tuple[int, bytes]:
        checked_token, timestamp, plain = self._checked
        if checked_token is token:
            return timestamp, plain
        try:
            raw = _a2b_base64(token.translate(_FROM_URLSAFE))  # base64.urlsafe_b64decode's own steps
        except (TypeError, binascii.Error):
            raise InvalidToken from None
        size = len(raw) - _IV_END - _MAC_BYTES
        if size < _BLOCK or size % _BLOCK or raw[:1] != _VERSION:
            raise InvalidToken
        body = raw[:-_MAC_BYTES]
        if not hmac.compare_digest(self._digest(body), raw[-_MAC_BYTES:]):
            raise InvalidToken
        if size <= XORED_BYTES_MAX:
            # CBC: P[i] = AES^-1(C[i]) xor C[i-1], C[-1] = IV.
            with self._lock:
                deciphered = self._decrypt_blocks.update(body[_IV_END:])
            chained = int.from_bytes(body[_HEAD.size:_HEAD.size + size], "big")
            padded = (int.from_bytes(deciphered, "big") ^ chained).to_bytes(size, "big")
        else:
            decryptor = Cipher(self._aes, modes.CBC(body[_HEAD.size:_IV_END])).decryptor()
            padded = decryptor.update(body[_IV_END:]) + decryptor.finalize()
        pad = padded[-1]
        if not 1 <= pad <= _BLOCK or padded[-pad:] != bytes((pad,)) * pad:
            raise InvalidToken
        timestamp = _HEAD.unpack_from(raw)[1]
        plain = padded[:-pad]
        self._checked = (token, timestamp, plain)
        return timestamp, plain


class CompactConnection(TcpConnection):  # type: ignore[misc]
    """pysyncobj's TcpConnection writing zlib's stored format instead of compressing each frame, and
    reading an established connection's frames with fewer system calls.

    For every readiness event pysyncobj asks the socket for a pending error (getsockopt), reads,
    asks again, and reads once more until EAGAIN: four system calls, and an exception, per message
    received, several per replicated write on every member. Here a read event on an established
    connection reads until a short read (a socket error or the peer's close shows in `recv` itself)
    and parses the frames: one system call per message. Any other event (connecting, writable,
    error) goes through pysyncobj's own handling. The frames are checked exactly as pysyncobj
    checks them: authentic token, timestamps not going back, the connection's random key.
    """

    def _TcpConnection__processConnection(self, descr: int, eventType: int) -> None:  # noqa: N802, N803
        if eventType != POLL_EVENT_TYPE.READ or descr != self._TcpConnection__fileno \
                or self._TcpConnection__state != CONNECTION_STATE.CONNECTED:
            TcpConnection._TcpConnection__processConnection(self, descr, eventType)
            return
        if _clock.monotonic() - self._TcpConnection__lastReadTime > self._TcpConnection__timeout:
            self.disconnect()
            return
        if not self._read_available():
            return
        on_message = self._TcpConnection__onMessageReceived
        while True:
            message = self._TcpConnection__processParseMessage()
            if message is None:
                return
            if on_message is not None:
                on_message(message)
            if self._TcpConnection__state == CONNECTION_STATE.DISCONNECTED:
                return

    def _read_available(self) -> bool:
        # Until a short read: a full buffer may have more behind it. False once disconnected.
        sock = self._TcpConnection__socket
        size = self._TcpConnection__recvBufferSize
        while True:
            try:
                incoming = sock.recv(size)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.disconnect()
                return False
            if not incoming:
                self.disconnect()
                return False
            self._TcpConnection__readBuffer += incoming
            if len(incoming) < size:
                break
        self._TcpConnection__lastReadTime = _clock.monotonic()
        return True

    def _TcpConnection__processParseMessage(self) -> Any:  # noqa: N802
        buffer = self._TcpConnection__readBuffer
        if len(buffer) < 4:
            return None
        size = _FRAME_HEAD.unpack_from(buffer)[0]
        if len(buffer) - 4 < size:
            return None
        data = buffer[4:4 + size]
        try:
            encryptor = self.encryptor
            if not encryptor:
                raise InvalidToken  # members always have a secret: never unpickle an unauthenticated frame
            if isinstance(encryptor, FernetCodec):
                timestamp, data = encryptor.open(data)
            else:
                timestamp = encryptor.extract_timestamp(data)
                data = encryptor.decrypt(data)
            if timestamp < self.recvLastTimestamp:
                raise InvalidToken  # pysyncobj's check: a replayed older frame drops the connection
            self.recvLastTimestamp = timestamp
            message = pysyncobj_pickle.loads(zlib_unstored(data))  # authenticated above
            if self.recvRandKey:
                rand_key, message = message
                if rand_key != self.recvRandKey:
                    raise InvalidToken
        except Exception:  # as pysyncobj: anything wrong with a frame ends the connection
            self.disconnect()
            return None
        self._TcpConnection__readBuffer = buffer[4 + size:]
        return message

    def send(self, message: object) -> None:
        """Frame and queue `message` exactly as pysyncobj 0.3.17 does, without the compression work."""
        if self.sendRandKey:
            message = (self.sendRandKey, message)
        data = zlib_stored(pysyncobj_pickle.dumps(message, PICKLE_PROTOCOL))
        now = _clock.monotonic()
        if self.encryptor:
            data = self.encryptor.encrypt_at_time(data, int(now))
        frame = _FRAME_HEAD.pack(len(data)) + data
        if not self._TcpConnection__writeBuffer and self._TcpConnection__state == CONNECTION_STATE.CONNECTED \
                and now - self._TcpConnection__lastReadTime <= self._TcpConnection__timeout:
            # The usual case, straight to the socket: nothing queued before it, connection alive.
            try:
                sent = self._TcpConnection__socket.send(frame)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self.disconnect()
                return
            if sent == len(frame):
                return
            frame = frame[sent:]
        self._TcpConnection__writeBuffer += frame  # pysyncobj's own way: queue, then send what it can
        self._TcpConnection__trySendBuffer()

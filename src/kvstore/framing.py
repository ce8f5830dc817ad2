"""Byte layouts of the WAL: the segment header and the record frame, and the scanner that reads frames back.

A segment file is a 32-byte header followed by records::

    header  = magic "BKWAL\\0\\0\\1" | version u32 | segment number u64 | first sequence u64 | crc32 u32
    record  = crc32 u32 | length u32 | payload (length bytes)

All integers are little-endian. A record's CRC-32 (``zlib.crc32``) covers its length field *and* its payload,
so a damaged length is caught as surely as a damaged payload, and a run of zero bytes (a preallocated or
never-written region) is never a valid frame. A record's sequence number is implicit: the segment's first
sequence plus the record's position in the segment.
"""
from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

__all__ = [
    "SEGMENT_MAGIC", "SEGMENT_VERSION", "SEGMENT_HEADER", "RECORD_HEADER", "MAX_RECORD_BYTES", "SegmentHeader",
    "encode_segment_header", "decode_segment_header", "encode_record", "scan_records", "find_valid_record",
]

SEGMENT_MAGIC = b"BKWAL\x00\x00\x01"
SEGMENT_VERSION = 1
SEGMENT_HEADER = struct.Struct("<8sIQQI")
RECORD_HEADER = struct.Struct("<II")
# etcd caps a request at 1.5 MiB and a txn at 128 operations; a length beyond this is damage, not data
MAX_RECORD_BYTES = 1 << 30

_crc32 = zlib.crc32
_pack_length = struct.Struct("<I").pack


class SegmentHeader(NamedTuple):
    """The decoded header of one segment file."""

    version: int
    number: int
    first_seq: int


def encode_segment_header(number: int, first_seq: int) -> bytes:
    """The header bytes of segment ``number`` whose first record will carry sequence ``first_seq``."""
    body = SEGMENT_HEADER.pack(SEGMENT_MAGIC, SEGMENT_VERSION, number, first_seq, 0)[:-4]
    return body + struct.pack("<I", _crc32(body))


def decode_segment_header(data: bytes) -> SegmentHeader | str:
    """Decode a segment header; returns the reason as a string when the bytes are not a valid header."""
    if len(data) < SEGMENT_HEADER.size:
        return f"segment header is {len(data)} bytes, shorter than {SEGMENT_HEADER.size}"
    magic, version, number, first_seq, crc = SEGMENT_HEADER.unpack_from(data)
    if magic != SEGMENT_MAGIC:
        return f"segment magic is {magic!r}, expected {SEGMENT_MAGIC!r}"
    if _crc32(data[:SEGMENT_HEADER.size - 4]) != crc:
        return "segment header checksum does not match"
    if version != SEGMENT_VERSION:
        return f"segment format version is {version}, this build reads version {SEGMENT_VERSION}"
    return SegmentHeader(version, number, first_seq)


def encode_record(payload: bytes) -> bytes:
    """One framed record: CRC-32 of (length, payload), length, payload."""
    length = _pack_length(len(payload))
    return struct.pack("<I", _crc32(payload, _crc32(length))) + length + payload


def scan_records(buffer: bytes, start: int) -> tuple[list[bytes], int]:
    """Read consecutive valid records from ``buffer[start:]``.

    Returns the payloads and the offset just past the last valid record; that offset is ``len(buffer)``
    exactly when every byte belonged to a valid record. Stops at the first short, oversized or
    checksum-failing frame without deciding what it is (see :func:`find_valid_record`).
    """
    view = memoryview(buffer)
    crc32 = _crc32
    unpack = RECORD_HEADER.unpack_from
    payloads: list[bytes] = []
    append = payloads.append
    offset = start
    end = len(buffer)
    limit = end - 8
    while offset <= limit:
        crc, length = unpack(buffer, offset)
        stop = offset + 8 + length
        if stop > end or crc32(view[offset + 4:stop]) != crc:
            break
        append(buffer[offset + 8:stop])
        offset = stop
    return payloads, offset


def find_valid_record(buffer: bytes, start: int) -> int | None:
    """The first offset ``>= start`` where a complete record with a matching CRC begins, or None.

    Used after a frame failed to decode: a valid record after the failure proves the failure is damage in
    the middle of the log, not a torn tail. Runs of zero bytes are skipped at once (zeros never frame).
    """
    end = len(buffer)
    view = memoryview(buffer)
    unpack = RECORD_HEADER.unpack_from
    crc32 = _crc32
    find = buffer.find
    zeros = b"\x00" * 8
    offset = start
    while offset <= end - 8:
        if end - offset - 8 < 1 << 24:
            # a frame that fits in what is left has a length below 2**24: its length's high byte is zero,
            # so only offsets 7 bytes before a zero byte can start one (a C-speed search, not a byte loop)
            zero = find(b"\x00", offset + 7)
            if zero < 0:
                return None
            offset = zero - 7
        if buffer[offset:offset + 8] == zeros:
            nonzero = _next_nonzero(buffer, offset)
            if nonzero is None:
                return None
            offset = max(nonzero - 7, offset + 1)
            continue
        crc, length = unpack(buffer, offset)
        stop = offset + 8 + length
        if stop <= end and crc32(view[offset + 4:stop]) == crc:
            return offset
        offset += 1
    return None


def _next_nonzero(buffer: bytes, offset: int) -> int | None:
    stripped = len(buffer) - len(buffer[offset:].lstrip(b"\x00"))
    return None if stripped >= len(buffer) else stripped

"""The record frame and segment header as data structures: round trips and the damage scanner (hypothesis)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from kvstore.framing import (SEGMENT_HEADER, SegmentHeader, decode_segment_header, encode_record,
                             encode_segment_header, find_valid_record, scan_records)

payload_lists = st.lists(st.binary(max_size=300), max_size=30)


@settings(max_examples=100, deadline=None)
@given(payloads=payload_lists, prefix=st.binary(max_size=16))
def test_scan_returns_exactly_what_was_framed(payloads, prefix):
    data = prefix + b"".join(encode_record(payload) for payload in payloads)
    assert scan_records(data, len(prefix)) == (payloads, len(data))


@settings(max_examples=100, deadline=None)
@given(payloads=payload_lists, cut=st.integers(min_value=1))
def test_a_cut_frame_stops_the_scan_at_its_start(payloads, cut):
    frames = [encode_record(payload) for payload in payloads]
    data = b"".join(frames)
    cut = cut % (len(data) + 1)
    found, end = scan_records(data[:cut], 0)
    boundaries = [0]
    for frame in frames:
        boundaries.append(boundaries[-1] + len(frame))
    whole = max(index for index, boundary in enumerate(boundaries) if boundary <= cut)
    assert (found, end) == (payloads[:whole], boundaries[whole])
    assert find_valid_record(data[:cut], end + 1) is None  # nothing whole after a cut frame


@settings(max_examples=100, deadline=None)
@given(before=payload_lists, damaged=st.binary(min_size=1, max_size=300), after=payload_lists.filter(bool),
       position=st.integers(min_value=0), mask=st.integers(1, 255))
def test_damage_followed_by_intact_records_is_found(before, damaged, after, position, mask):
    head = b"".join(encode_record(payload) for payload in before)
    bad = bytearray(encode_record(damaged))
    bad[position % len(bad)] ^= mask
    tail = b"".join(encode_record(payload) for payload in after)
    data = head + bytes(bad) + tail
    found, end = scan_records(data, 0)
    assert found[:len(before)] == before and end >= len(head)
    if end == len(head):  # the damaged frame stopped the scan (it could only pass by a CRC collision)
        later = find_valid_record(data, end + 1)
        assert later is not None and later <= len(head) + len(bad)


@settings(max_examples=100, deadline=None)  # hypothesis's default 200 ms deadline fails on a loaded machine
@given(number=st.integers(0, 2**64 - 1), first_seq=st.integers(0, 2**64 - 1))
def test_segment_header_round_trip_and_any_flip_is_detected(number, first_seq):
    header = encode_segment_header(number, first_seq)
    assert len(header) == SEGMENT_HEADER.size
    assert decode_segment_header(header) == SegmentHeader(1, number, first_seq)
    for offset in range(len(header)):
        flipped = bytearray(header)
        flipped[offset] ^= 0x10
        assert isinstance(decode_segment_header(bytes(flipped)), str)
    assert isinstance(decode_segment_header(header[:-1]), str)


def test_zero_runs_are_skipped_without_framing():
    record = encode_record(b"intact")
    assert find_valid_record(b"\x00" * 10_000, 0) is None
    assert find_valid_record(b"\x00" * 10_000 + record, 1) == 10_000
    assert find_valid_record(b"\x01" + b"\x00" * 7 + record, 1) == 8


def naive_find_valid_record(buffer: bytes, start: int):
    """The definition: the first offset where a complete frame with a matching CRC starts."""
    import struct
    import zlib

    for offset in range(start, len(buffer) - 7):
        crc, length = struct.unpack_from("<II", buffer, offset)
        stop = offset + 8 + length
        if stop <= len(buffer) and zlib.crc32(buffer[offset + 4:stop]) == crc:
            return offset
    return None


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(st.one_of(st.binary(max_size=40), st.binary(max_size=20).map(encode_record),
                                 st.integers(1, 64).map(lambda n: b"\x00" * n)), max_size=8),
       start=st.integers(0, 50))
def test_find_valid_record_agrees_with_its_definition(pieces, start):
    data = b"".join(pieces)
    assert find_valid_record(data, start) == naive_find_valid_record(data, start)

"""put / get / range / delete / compact: every option and every error, checked against etcd's rules."""
from __future__ import annotations

import pytest

import kvstore
from kvstore import SortOrder, SortTarget


def test_an_empty_store_is_at_revision_1_and_the_first_put_makes_revision_2(store):
    assert store.revision == 1
    assert store.put(b"a", b"1").revision == 2
    assert store.status().revision == 2


def test_put_get_keep_bytes_and_accept_str(store):
    store.put("ключ", "значение")
    kv = store.get("ключ")
    assert kv.key == "ключ".encode() and kv.value == "значение".encode()
    assert isinstance(kv.key, bytes) and isinstance(kv.value, bytes)
    store.put(bytearray(b"k"), memoryview(b"v"))
    assert store.get(b"k").value == b"v"


def test_version_counts_puts_and_delete_ends_the_life_of_a_key(store):
    first = store.put(b"k", b"1").revision
    second = store.put(b"k", b"2").revision
    kv = store.get(b"k")
    assert (kv.create_revision, kv.mod_revision, kv.version) == (first, second, 2)
    store.delete(b"k")
    assert store.get(b"k") is None
    again = store.put(b"k", b"3").revision
    kv = store.get(b"k")
    assert (kv.create_revision, kv.mod_revision, kv.version) == (again, again, 1)


def test_put_prev_kv_returns_the_previous_value_only_when_asked(store):
    assert store.put(b"k", b"1", prev_kv=True).prev_kv is None
    assert store.put(b"k", b"2").prev_kv is None
    prev = store.put(b"k", b"3", prev_kv=True).prev_kv
    assert prev.value == b"2" and prev.version == 2


def test_ignore_value_keeps_the_value_and_ignore_lease_keeps_the_lease(store):
    lease = store.grant(60)
    store.put(b"k", b"v", lease=lease.id)
    store.put(b"k", b"", ignore_value=True)
    kv = store.get(b"k")
    assert kv.value == b"v" and kv.version == 2 and kv.lease == 0  # no lease given: detached, as etcd
    store.put(b"k", b"w", lease=lease.id)
    store.put(b"k", b"x", ignore_lease=True)
    assert store.get(b"k").lease == lease.id
    assert store.time_to_live(lease.id, keys=True).keys == [b"k"]


def test_ignore_value_and_ignore_lease_errors_change_nothing(store):
    with pytest.raises(kvstore.KeyNotFound, match="ignore_value"):
        store.put(b"missing", b"", ignore_value=True)
    with pytest.raises(kvstore.KeyNotFound, match="ignore_lease"):
        store.put(b"missing", b"v", ignore_lease=True)
    with pytest.raises(kvstore.ValueProvided):
        store.put(b"k", b"v", ignore_value=True)
    with pytest.raises(kvstore.LeaseProvided):
        store.put(b"k", b"v", lease=5, ignore_lease=True)
    assert store.revision == 1 and store.get(b"missing") is None


def test_put_with_an_unknown_lease_raises_lease_not_found_and_writes_nothing(store):
    with pytest.raises(kvstore.LeaseNotFound, match="lease=12345"):
        store.put(b"k", b"v", lease=12345)
    assert store.revision == 1 and store.get(b"k") is None


@pytest.mark.parametrize("key", [b"", ""])
def test_empty_key_is_refused(store, key):
    with pytest.raises(kvstore.EmptyKey, match="key"):
        store.put(key, b"v")
    with pytest.raises(kvstore.EmptyKey):
        store.get(key)
    with pytest.raises(kvstore.EmptyKey):
        store.delete(key)
    assert store.revision == 1


@pytest.mark.parametrize("bad", [1, None, 1.5, ["k"], object()])
def test_wrong_types_are_refused_with_the_field_named(store, bad):
    with pytest.raises(kvstore.InvalidType, match="key must be bytes or str"):
        store.put(bad, b"v")
    with pytest.raises(kvstore.InvalidType, match="value must be bytes or str"):
        store.put(b"k", bad)
    with pytest.raises(TypeError):  # InvalidType is also a TypeError
        store.get(bad)
    assert store.revision == 1


def test_bad_lease_and_flag_types_are_refused(store):
    with pytest.raises(kvstore.InvalidType, match="lease"):
        store.put(b"k", b"v", lease="7")
    with pytest.raises(kvstore.InvalidArgument, match="lease=-1"):
        store.put(b"k", b"v", lease=-1)
    with pytest.raises(kvstore.InvalidType, match="prev_kv"):
        store.put(b"k", b"v", prev_kv=1)
    assert store.revision == 1


def test_value_over_the_limit_names_the_limit_and_writes_nothing(clock):
    with kvstore.open(clock=clock, max_value_bytes=10) as store:
        store.put(b"k", b"x" * 10)
        with pytest.raises(kvstore.ValueTooLarge, match="max_value_bytes=10") as raised:
            store.put(b"k", b"x" * 11)
        assert raised.value.size == 11 and raised.value.limit == 10
        assert store.revision == 2


@pytest.mark.embedded_only("etcd's --max-request-bytes (1.5 MiB) counts the protobuf encoding of the request; "
                            "the embedded store counts its key and value bytes")
def test_default_request_limit_is_etcds_one_and_a_half_mebibytes(store):
    store.put(b"k", b"x" * (1536 * 1024 - 1))                            # key + value: exactly the limit
    with pytest.raises(kvstore.RequestTooLarge, match="max_request_bytes=1572864"):
        store.put(b"k", b"x" * (1536 * 1024))                            # a 1.5 MiB value with its key
    with pytest.raises(kvstore.ValueTooLarge):
        store.put(b"k", b"x" * (1536 * 1024 + 1))


def _fill(store, keys):
    for key in keys:
        store.put(key, key + b"-value")


def test_range_end_is_exclusive_and_range_end_nul_means_every_key_from_key(store):
    _fill(store, [b"a", b"b", b"c", b"d"])
    assert [kv.key for kv in store.range(b"b", b"d").kvs] == [b"b", b"c"]
    assert [kv.key for kv in store.range(b"b", b"\0").kvs] == [b"b", b"c", b"d"]
    assert [kv.key for kv in store.range(b"\0", b"\0").kvs] == [b"a", b"b", b"c", b"d"]
    assert store.range(b"c", b"b").kvs == []  # an end before the key selects nothing, as etcd
    assert [kv.key for kv in store.range(b"b").kvs] == [b"b"]


def test_prefix_ranges_including_the_0xff_edge_and_the_empty_prefix(store):
    _fill(store, [b"a", b"ab", b"abc", b"ac", b"b", b"\xff", b"\xff\xff\x01"])
    assert [kv.key for kv in store.range(b"ab", prefix=True).kvs] == [b"ab", b"abc"]
    assert [kv.key for kv in store.range(b"\xff", prefix=True).kvs] == [b"\xff", b"\xff\xff\x01"]
    assert store.range(b"", prefix=True).count == 7
    with pytest.raises(kvstore.InvalidArgument, match="prefix"):
        store.range(b"a", b"b", prefix=True)


def test_limit_sets_more_and_count_is_the_whole_range(store):
    _fill(store, [b"k1", b"k2", b"k3", b"k4"])
    response = store.range(b"k", prefix=True, limit=2)
    assert [kv.key for kv in response.kvs] == [b"k1", b"k2"]
    assert response.more is True and response.count == 4
    response = store.range(b"k", prefix=True, limit=4)
    assert response.more is False and len(response.kvs) == 4


def test_count_only_and_keys_only(store):
    _fill(store, [b"k1", b"k2"])
    counted = store.range(b"k", prefix=True, count_only=True)
    assert counted.kvs == [] and counted.count == 2 and counted.more is False
    keys = store.range(b"k", prefix=True, keys_only=True)
    assert [(kv.key, kv.value) for kv in keys.kvs] == [(b"k1", b""), (b"k2", b"")]
    assert keys.kvs[0].version == 1
    assert store.get(b"k1").value == b"k1-value"  # keys_only did not touch the stored value


def test_sort_orders_and_targets(store):
    store.put(b"a", b"3")
    store.put(b"b", b"1")
    store.put(b"c", b"2")
    store.put(b"b", b"1")  # b: version 2, mod revision 5
    def keys(**options):
        return [kv.key for kv in store.range(b"a", b"\0", **options).kvs]
    assert keys(sort_order=SortOrder.DESCEND) == [b"c", b"b", b"a"]
    assert keys(sort_target=SortTarget.VALUE) == [b"b", b"c", b"a"]  # non-key target: ascending by default
    assert keys(sort_target=SortTarget.VALUE, sort_order=SortOrder.DESCEND) == [b"a", b"c", b"b"]
    assert keys(sort_target=SortTarget.MOD, sort_order=SortOrder.DESCEND) == [b"b", b"c", b"a"]
    assert keys(sort_target=SortTarget.CREATE, sort_order=SortOrder.ASCEND) == [b"a", b"b", b"c"]
    assert keys(sort_target=SortTarget.VERSION, sort_order=SortOrder.DESCEND)[0] == b"b"
    assert keys(sort_order=SortOrder.DESCEND, limit=1) == [b"c"]
    with pytest.raises(kvstore.InvalidArgument, match="sort_order"):
        store.range(b"a", sort_order=7)


def test_min_and_max_revision_filters_prune_after_counting(store):
    for key in (b"a", b"b", b"c"):
        store.put(key, b"v")  # revisions 2, 3, 4
    store.put(b"a", b"w")  # a: create 2, mod 5
    response = store.range(b"a", b"\0", min_mod_revision=4)
    assert [kv.key for kv in response.kvs] == [b"a", b"c"] and response.count == 3
    assert [kv.key for kv in store.range(b"a", b"\0", max_mod_revision=3).kvs] == [b"b"]
    assert [kv.key for kv in store.range(b"a", b"\0", min_create_revision=3).kvs] == [b"b", b"c"]
    assert [kv.key for kv in store.range(b"a", b"\0", max_create_revision=2).kvs] == [b"a"]
    limited = store.range(b"a", b"\0", min_create_revision=3, limit=1)
    assert [kv.key for kv in limited.kvs] == [b"b"] and limited.more is True


def test_reads_at_old_revisions_see_the_state_then(store):
    store.put(b"a", b"1")  # 2
    store.put(b"b", b"1")  # 3
    store.put(b"a", b"2")  # 4
    store.delete(b"b")  # 5
    store.put(b"c", b"1")  # 6
    assert store.get(b"a", revision=2).value == b"1"
    assert store.get(b"a", revision=4).value == b"2"
    assert store.get(b"b", revision=4).value == b"1" and store.get(b"b", revision=5) is None
    assert [kv.key for kv in store.range(b"a", b"\0", revision=3).kvs] == [b"a", b"b"]
    assert [kv.key for kv in store.range(b"a", b"\0", revision=1).kvs] == []
    at_now = store.range(b"a", b"\0", revision=6)
    assert [kv.key for kv in at_now.kvs] == [b"a", b"c"] and at_now.revision == 6
    assert store.range(b"a", b"\0", revision=3).revision == 6  # the header is the store revision, as etcd


def test_future_and_compacted_revisions(store):
    for value in (b"1", b"2", b"3"):
        store.put(b"k", value)  # 2, 3, 4
    with pytest.raises(kvstore.FutureRevision, match="revision=5 .* current revision is 4"):
        store.get(b"k", revision=5)
    assert store.compact(3) == 4
    with pytest.raises(kvstore.Compacted, match="compact revision is 3") as raised:
        store.range(b"k", revision=2)
    assert raised.value.compact_revision == 3
    assert store.get(b"k", revision=3).value == b"2"  # the compact revision itself stays readable
    assert store.status().compact_revision == 3


def test_compact_errors(store):
    store.put(b"k", b"1")
    store.put(b"k", b"2")
    with pytest.raises(kvstore.FutureRevision):
        store.compact(4)
    store.compact(2)
    with pytest.raises(kvstore.Compacted):
        store.compact(2)
    with pytest.raises(kvstore.Compacted):
        store.compact(1)
    with pytest.raises(kvstore.InvalidArgument):
        store.compact(0)
    assert store.status().compact_revision == 2


@pytest.mark.embedded_only("reads the embedded state machine's history index")
def test_compaction_keeps_live_values_and_drops_deleted_keys(store):
    store.put(b"a", b"1")  # 2
    store.put(b"b", b"1")  # 3
    store.delete(b"b")  # 4
    store.put(b"a", b"2")  # 5
    store.compact(5)
    assert store.get(b"a").value == b"2"
    assert store.range(b"a", b"\0", revision=5).count == 1
    with pytest.raises(kvstore.Compacted):
        store.get(b"b", revision=3)
    assert store._state.index.history.keys() == {b"a"}  # b's tombstone and a's older revision are gone


def test_delete_range_prefix_prev_kv_and_one_revision(store):
    _fill(store, [b"p/1", b"p/2", b"p/3", b"q"])
    response = store.delete(b"p/", prefix=True, prev_kv=True)
    assert response.deleted == 3 and response.revision == 6
    assert [kv.key for kv in response.prev_kvs] == [b"p/1", b"p/2", b"p/3"]
    assert store.range(b"p/", prefix=True).count == 0 and store.get(b"q") is not None
    assert store.delete(b"q").prev_kvs == []  # prev_kv not asked for
    assert store.delete(b"a", b"\0").deleted == 0


def test_a_delete_that_deletes_nothing_does_not_bump_the_revision(store):
    store.put(b"k", b"v")
    response = store.delete(b"missing")
    assert (response.deleted, response.revision) == (0, 2)
    assert store.revision == 2


@pytest.mark.embedded_only("db_size is 0 for an in-memory store; etcd reports the size of its database file")
def test_status_counts_live_keys(store):
    _fill(store, [b"a", b"b"])
    store.delete(b"a")
    status = store.status()
    assert (status.revision, status.keys, status.leases, status.db_size) == (4, 1, 0, 0)


def test_a_closed_store_refuses_requests(clock):
    store = kvstore.open(clock=clock)
    store.put(b"k", b"v")
    store.close()
    store.close()
    assert store.closed
    for call in (lambda: store.put(b"k", b"v"), lambda: store.get(b"k"), lambda: store.range(b"k"),
                 lambda: store.delete(b"k"), store.status, lambda: store.grant(5)):
        with pytest.raises(kvstore.StoreClosed):
            call()


def test_open_refuses_an_unknown_fsync_policy():
    with pytest.raises(kvstore.InvalidArgument, match="fsync='sometimes'"):
        kvstore.open(fsync="sometimes")

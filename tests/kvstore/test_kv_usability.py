"""Issue 15, kvstore: Compare's missing operators are KVErrors, python-etcd3's conveniences as thin aliases
(on the embedded store and on kvstore.connect() to a real etcd: conftest's ``store``), and key / request size
limits that open() takes."""
import pytest

import kvstore
from kvstore import (Compare, InvalidArgument, KeyTooLarge, KVError, Lease, LeaseNotFound, Op, RequestTooLarge,
                     ValueTooLarge)

MIB = 1024 * 1024


@pytest.mark.parametrize("build", [lambda: Compare.version("k") >= 1, lambda: Compare.mod_revision("k") <= 5,
                                   lambda: Compare.value("k") >= b"a", lambda: 1 <= Compare.version("k")])
def test_compare_operators_etcd_lacks_are_kv_errors_saying_what_to_write(build):
    with pytest.raises(KVError) as caught:
        build()
    assert isinstance(caught.value, InvalidArgument) and "==, !=, < and >" in str(caught.value)
    assert not type(caught.value).__name__ == "TypeError"


def test_compare_ge_names_the_equivalent_guard():
    with pytest.raises(InvalidArgument, match=r"write Compare.version\(b'k'\) > 0"):
        Compare.version("k") >= 1


def test_get_prefix_and_delete_prefix_are_range_and_delete_with_prefix(store):
    for key in ("/a/1", "/a/2", "/b/1"):
        store.put(key, key.upper())
    assert [kv.key for kv in store.get_prefix("/a/")] == [b"/a/1", b"/a/2"]
    assert store.get_prefix("/a/") == store.range("/a/", prefix=True).kvs
    assert [kv.key for kv in store.get_prefix("/", keys_only=True)] == [b"/a/1", b"/a/2", b"/b/1"]
    revision = store.revision
    assert store.delete_prefix("/a/").deleted == 2
    assert store.revision == revision + 1                                 # one revision, as delete(prefix=True)
    assert [kv.key for kv in store.get_prefix("/")] == [b"/b/1"]


def test_put_takes_a_lease_object_and_leases_refresh_and_revoke(store):
    lease = store.grant(10)
    store.put("k", "v", lease=lease)
    assert store.get("k").lease == lease.id
    assert store.txn([], [Op.put("k2", "v", lease=lease)]).succeeded
    assert store.get("k2").lease == lease.id
    assert lease.refresh() == Lease(lease.id, 10)                        # python-etcd3's Lease.refresh
    assert [listed.refresh().id for listed in store.leases() if listed.id == lease.id] == [lease.id]
    lease.revoke()
    assert store.get("k") is None and store.get("k2") is None
    with pytest.raises(LeaseNotFound):
        lease.refresh()
    with pytest.raises(InvalidArgument, match="not returned by a store"):
        Lease(5, 10).refresh()


def test_put_with_ignore_value_needs_no_value(store):
    store.put("k", "v")
    store.put("k", ignore_value=True, lease=store.grant(10))
    assert store.get("k").value == b"v" and store.get("k").lease != 0
    assert store.txn([], [Op.put("k", ignore_value=True)]).succeeded
    with pytest.raises(kvstore.InvalidType, match="value must be bytes or str"):
        store.put("k")                                                   # a value is needed otherwise


@pytest.mark.embedded_only("etcd refuses the request on the server (its gRPC message limit), with its own error")
def test_a_ten_megabyte_key_is_refused_with_the_limit_and_writes_nothing(store):
    revision = store.revision
    big = b"k" * (10 * MIB)
    with pytest.raises(KeyTooLarge, match=r"key is 10485760 bytes, over the limit max_key_bytes=1572864"):
        store.put(big, b"v")
    for call in (lambda: store.get(big), lambda: store.range(big, prefix=True), lambda: store.delete(big),
                 lambda: store.txn([Compare.version(big) == 0], [Op.put("a", "b")]),
                 lambda: store.watch(big)):
        with pytest.raises(KeyTooLarge):
            call()
    assert store.revision == revision


@pytest.mark.embedded_only("etcd counts the request's protobuf encoding, a few bytes more than key and value")
def test_request_limit_counts_key_and_value_as_etcd_does(store):
    value = b"v" * (1536 * 1024 - 10)
    store.put("k", value)                                                # 1 + value: under 1.5 MiB
    with pytest.raises(RequestTooLarge, match=r"request is 1572874 bytes, over the limit "
                                              r"max_request_bytes=1572864 \(etcd: request is too large\)"):
        store.put(b"k" * 20, value)
    with pytest.raises(RequestTooLarge, match="txn request .* max_request_bytes=1572864"):
        store.txn([], [Op.put("a", value), Op.put("b", b"x" * 100)])
    with pytest.raises(ValueTooLarge):                                   # still a RequestTooLarge
        store.put("k", b"v" * (1536 * 1024 + 1))


def test_open_takes_the_limits(tmp_path):
    with kvstore.open(str(tmp_path / "db"), max_key_bytes=16, max_request_bytes=64, fsync="never") as s:
        s.put(b"k" * 16, b"v" * 48)
        with pytest.raises(KeyTooLarge, match="max_key_bytes=16"):
            s.put(b"k" * 17, b"v")
        with pytest.raises(RequestTooLarge, match="max_request_bytes=64"):
            s.put(b"k", b"v" * 64)
        with pytest.raises(KeyTooLarge, match="range_end is 17 bytes"):
            s.range(b"a", b"b" * 17)
    with pytest.raises(InvalidArgument, match="max_key_bytes"):
        kvstore.open(max_key_bytes=0)

"""Transactions: guards on every target with every operator, nested txns, one revision, etcd's checks."""
from __future__ import annotations

import pytest

import kvstore
from kvstore import Compare, Op


def test_success_branch_runs_when_every_guard_holds_and_writes_one_revision(store):
    store.put(b"k", b"v")
    response = store.txn(compare=[Compare.value(b"k") == b"v", Compare.version(b"k") == 1],
                         success=[Op.put(b"a", b"1"), Op.put(b"b", b"2"), Op.delete(b"k"), Op.get(b"a")],
                         failure=[Op.put(b"never", b"x")])
    assert response.succeeded is True and response.revision == 3
    put_a, put_b, delete_k, get_a = response.responses
    assert put_a.revision == put_b.revision == delete_k.revision == 3 and delete_k.deleted == 1
    assert get_a.kvs[0].value == b"1" and get_a.revision == 3  # a read after a write sees the txn
    assert store.get(b"a").mod_revision == store.get(b"b").mod_revision == 3
    assert store.get(b"never") is None and store.get(b"k") is None


def test_failure_branch_runs_when_a_guard_fails(store):
    store.put(b"k", b"v")
    response = store.txn([Compare.value(b"k") == b"other"], [Op.put(b"s", b"1")], [Op.put(b"f", b"1")])
    assert response.succeeded is False
    assert store.get(b"f") is not None and store.get(b"s") is None


@pytest.mark.parametrize("target, actual", [
    (Compare.version, 2), (Compare.create_revision, 2), (Compare.mod_revision, 3),
])
def test_integer_guards_with_every_operator(store, target, actual):
    store.put(b"k", b"v")
    store.put(b"k", b"w")
    table = [(target(b"k") == actual, True), (target(b"k") == actual + 1, False),
             (target(b"k") != actual, False), (target(b"k") != actual - 1, True),
             (target(b"k") < actual + 1, True), (target(b"k") < actual, False),
             (target(b"k") > actual - 1, True), (target(b"k") > actual, False)]
    for guard, expected in table:
        assert store.txn([guard]).succeeded is expected, guard


def test_value_guard_orders_bytes_and_fails_on_a_missing_key(store):
    store.put(b"k", b"m")
    assert store.txn([Compare.value(b"k") > b"a"]).succeeded
    assert store.txn([Compare.value(b"k") < b"z"]).succeeded
    assert store.txn([Compare.value(b"k") != b"x"]).succeeded
    assert not store.txn([Compare.value(b"missing") == b""]).succeeded
    assert not store.txn([Compare.value(b"missing") != b"x"]).succeeded  # etcd: always false on a missing key


def test_missing_keys_compare_as_zero(store):
    assert store.txn([Compare.version(b"missing") == 0, Compare.create_revision(b"missing") == 0,
                      Compare.mod_revision(b"missing") == 0, Compare.lease(b"missing") == 0]).succeeded


def test_lease_guard(store):
    lease = store.grant(30)
    store.put(b"k", b"v", lease=lease.id)
    assert store.txn([Compare.lease(b"k") == lease.id]).succeeded
    assert not store.txn([Compare.lease(b"k") == 0]).succeeded


def test_range_guards_need_every_key_in_the_range(store):
    store.put(b"p/1", b"v")
    store.put(b"p/2", b"v")
    assert store.txn([Compare.value(b"p/", prefix=True) == b"v"]).succeeded
    store.put(b"p/3", b"w")
    assert not store.txn([Compare.value(b"p/", prefix=True) == b"v"]).succeeded
    assert store.txn([Compare.version(b"p/1", b"p/3") == 1]).succeeded


def test_a_txn_without_writes_keeps_the_revision(store):
    store.put(b"k", b"v")
    response = store.txn([Compare.version(b"k") == 1], [Op.get(b"k"), Op.delete(b"missing")])
    assert response.revision == 2 and store.revision == 2
    assert store.txn().succeeded is True  # no guards: success, as etcd


def test_nested_txn_and_its_guards_are_read_before_any_write(store):
    store.put(b"k", b"1")
    inner = Op.txn([Compare.value(b"k") == b"1"], [Op.put(b"inner", b"then")], [Op.put(b"inner", b"else")])
    response = store.txn([], [Op.put(b"k", b"2"), inner])
    assert response.succeeded
    nested = response.responses[1]
    assert isinstance(nested, kvstore.TxnResponse) and nested.succeeded is True  # saw k == 1, as etcd
    assert store.get(b"inner").value == b"then"
    assert response.revision == 3 and nested.revision == 0  # etcd fills only the outer header


def test_ops_with_range_end_and_prefix_inside_a_txn(store):
    for key in (b"a/1", b"a/2", b"b"):
        store.put(key, b"v")
    response = store.txn([], [Op.range(b"a/", prefix=True, count_only=True), Op.delete(b"a/", prefix=True,
                                                                                       prev_kv=True)])
    counted, deleted = response.responses
    assert counted.count == 2 and deleted.deleted == 2 and len(deleted.prev_kvs) == 2


@pytest.mark.parametrize("success", [
    [Op.put(b"k", b"1"), Op.put(b"k", b"2")],
    [Op.put(b"k", b"1"), Op.delete(b"k")],
    [Op.delete(b"a", b"z"), Op.put(b"k", b"1")],
    [Op.put(b"k", b"1"), Op.txn([], [Op.put(b"k", b"2")])],
    [Op.txn([], [Op.delete(b"k")]), Op.put(b"k", b"2")],
])
def test_a_txn_may_not_write_a_key_twice(store, success):
    with pytest.raises(kvstore.DuplicateKey, match="b'k'"):
        store.txn([], success)
    assert store.revision == 1


def test_then_and_else_of_a_nested_txn_may_put_the_same_key(store):
    nested = Op.txn([Compare.version(b"x") == 0], [Op.put(b"k", b"then")], [Op.put(b"k", b"else")])
    assert store.txn([], [nested]).succeeded
    assert store.get(b"k").value == b"then"


def test_deleting_the_same_key_twice_is_allowed(store):
    store.put(b"k", b"v")
    response = store.txn([], [Op.delete(b"k"), Op.delete(b"k")])
    assert [r.deleted for r in response.responses] == [1, 0]


def test_inner_revisions_follow_etcd_they_move_once_something_was_written(store):
    store.put(b"k", b"v")  # 2
    response = store.txn([], [Op.get(b"k"), Op.delete(b"missing"), Op.put(b"a", b"1"), Op.delete(b"missing"),
                              Op.get(b"k")])
    assert [r.revision for r in response.responses] == [2, 2, 3, 3, 3] and response.revision == 3


def test_too_many_ops_names_the_list_and_the_limit(clock):
    with kvstore.open(clock=clock, max_txn_ops=3) as store:
        store.txn([], [Op.put(b"a", b"1"), Op.put(b"b", b"1"), Op.put(b"c", b"1")])
        with pytest.raises(kvstore.TooManyOps, match="success has 4 operations.*max_txn_ops=3"):
            store.txn([], [Op.get(b"k")] * 4)
        with pytest.raises(kvstore.TooManyOps, match="compare"):
            store.txn([Compare.version(b"k") == 0] * 4)
        with pytest.raises(kvstore.TooManyOps, match=r"failure\[0\]\.success has 4"):
            store.txn([], [], [Op.txn([], [Op.get(b"k")] * 4)])
        assert store.revision == 2


def test_the_default_txn_op_limit_is_128(store):
    store.txn([], [Op.put(b"k%d" % i, b"v") for i in range(128)])
    with pytest.raises(kvstore.TooManyOps):
        store.txn([], [Op.put(b"k%d" % i, b"v") for i in range(129)])


def test_errors_inside_the_chosen_branch_abort_the_whole_txn(store):
    store.put(b"k", b"v")
    with pytest.raises(kvstore.LeaseNotFound):
        store.txn([], [Op.put(b"a", b"1"), Op.put(b"b", b"1", lease=99)])
    with pytest.raises(kvstore.KeyNotFound):
        store.txn([], [Op.put(b"a", b"1"), Op.put(b"missing", b"", ignore_value=True)])
    with pytest.raises(kvstore.FutureRevision):
        store.txn([], [Op.put(b"a", b"1"), Op.get(b"k", revision=50)])
    assert store.revision == 2 and store.get(b"a") is None
    # an error in the branch that does not run is not an error, as etcd
    assert store.txn([Compare.version(b"k") == 1], [Op.put(b"a", b"1")], [Op.put(b"b", b"1", lease=99)])


def test_value_size_is_checked_in_every_branch(clock):
    with kvstore.open(clock=clock, max_value_bytes=4) as store:
        with pytest.raises(kvstore.ValueTooLarge, match=r"failure\[0\]\.success\[0\]\.value is 5 bytes"):
            store.txn([], [], [Op.txn([], [Op.put(b"k", b"12345")])])


def test_builders_refuse_bad_arguments():
    with pytest.raises(kvstore.InvalidArgument, match="no operator"):
        Compare.version(b"k").encode()
    with pytest.raises(kvstore.InvalidType, match="compare version must be int"):
        Compare.version(b"k") == "1"
    with pytest.raises(kvstore.InvalidType, match="compare value"):
        Compare.value(b"k") == 1
    with pytest.raises(kvstore.EmptyKey):
        Op.put(b"", b"v")
    with pytest.raises(kvstore.ValueProvided):
        Op.put(b"k", b"v", ignore_value=True)


def test_txn_refuses_items_that_are_not_built_by_the_builders(store):
    with pytest.raises(kvstore.InvalidType, match="compare item"):
        store.txn([("version", b"k", 0)])
    with pytest.raises(kvstore.InvalidType, match="success op"):
        store.txn([], [["drop", b"k"]])
    assert store.revision == 1


def test_put_errors_are_reported_before_read_errors_as_etcd_checks_them(store):
    with pytest.raises(kvstore.KeyNotFound):
        store.txn([], [Op.get(b"k", revision=50), Op.put(b"missing", b"", ignore_value=True)])
    with pytest.raises(kvstore.LeaseNotFound):
        store.txn([], [Op.txn([], [Op.get(b"k", revision=50)]), Op.put(b"k", b"v", lease=9)])


def test_a_from_key_delete_does_not_conflict_with_a_put_as_in_etcd(store):
    store.put(b"k", b"old")
    response = store.txn([], [Op.put(b"k", b"new"), Op.delete(b"a", b"\0")])
    assert response.responses[1].deleted == 1 and store.get(b"k") is None
    response = store.txn([], [Op.delete(b"a", b"\0"), Op.put(b"k", b"again")])
    kv = store.get(b"k")
    assert (kv.value, kv.version, kv.create_revision) == (b"again", 1, response.revision)
    with store.watch(b"k", start_revision=3) as watcher:
        events = [watcher.get(5.0) for _ in range(3)]
    assert [(e.type.name, e.kv.mod_revision) for e in events] == [("PUT", 3), ("DELETE", 3), ("PUT", 4)]
    assert store.get(b"k", revision=3) is None


def test_a_read_at_an_explicit_revision_after_a_write_excludes_the_txn_writes(store):
    store.put(b"k", b"old")  # 2
    response = store.txn([], [Op.put(b"k", b"new"), Op.get(b"k", revision=2), Op.get(b"k")])
    at_two, latest = response.responses[1:]
    assert at_two.kvs[0].value == b"old" and latest.kvs[0].value == b"new"
    with pytest.raises(kvstore.FutureRevision):
        store.txn([], [Op.put(b"k", b"x"), Op.get(b"k", revision=4)])

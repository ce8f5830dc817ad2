"""StatefulSet and ReplicationController: validation, defaulting and the registry, as the API server does."""
from __future__ import annotations

import pytest

import objects
from objects import ReplicationController, StatefulSet, apply_defaults

from manifest_corpus import document
from registry_helpers import new_registry, validation_problems


def stateful_set():
    return document("StatefulSet", "db")


def replication_controller():
    return document("ReplicationController", "legacy-web")


def test_corpus_documents_read_as_their_kinds():
    assert type(objects.from_dict(stateful_set())) is StatefulSet
    rc = objects.from_dict(replication_controller())
    assert type(rc) is ReplicationController
    assert rc.spec.selector == {"app": "legacy-web"}  # a plain map, not a LabelSelector
    assert objects.from_dict(stateful_set()).spec.selector.matches({"app": "db"})


@pytest.mark.parametrize("mutate, message", [
    (lambda s: s.pop("selector"), "spec.selector: Required value"),
    (lambda s: s.update(selector={}), 'spec.selector: Invalid value: "{}": empty selector is invalid for statefulset'),
    (lambda s: s.update(selector={"matchLabels": {"app": "web"}}),
     "spec.template.metadata.labels: Invalid value: \"{'app': 'db', 'tier': 'storage'}\": `selector` does not "
     "match template `labels`"),
    (lambda s: s.update(replicas=-1), "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    (lambda s: s.update(minReadySeconds=-5), "spec.minReadySeconds: Invalid value: -5"),
    (lambda s: s.update(podManagementPolicy="Random"),
     "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"),
    (lambda s: s["updateStrategy"].update(type="Sometimes"),
     "spec.updateStrategy.type: Invalid value: \"Sometimes\": must be 'RollingUpdate' or 'OnDelete'"),
    (lambda s: s["updateStrategy"].update(type="OnDelete"),
     "spec.updateStrategy.rollingUpdate: Invalid value:"),
    (lambda s: s["updateStrategy"]["rollingUpdate"].update(partition=-1),
     "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1"),
    (lambda s: s["persistentVolumeClaimRetentionPolicy"].update(whenScaled="Keep"),
     'spec.persistentVolumeClaimRetentionPolicy.whenScaled: Unsupported value: "Keep": supported values: '
     '"Delete", "Retain"'),
    (lambda s: s["ordinals"].update(start=-1), "spec.ordinals.start: Invalid value: -1"),
    (lambda s: s["template"]["spec"].update(restartPolicy="Never"),
     'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'),
    (lambda s: s.pop("template"), "spec.template: Required value"),
    (lambda s: s["volumeClaimTemplates"].append({"bad": float("nan")}),
     "spec.volumeClaimTemplates[1].bad: Invalid value"),
])
def test_stateful_set_rules(mutate, message):
    doc = stateful_set()
    mutate(doc["spec"])
    found = validation_problems(doc)
    assert any(p.startswith(message) for p in found), found


@pytest.mark.parametrize("mutate, message", [
    (lambda s: s.update(selector={"app": "other"}),
     "spec.template.metadata.labels: Invalid value: \"{'app': 'legacy-web', 'track': 'stable'}\": `selector` "
     "does not match template `labels`"),
    (lambda s: (s.pop("selector"), s["template"]["metadata"].pop("labels")), "spec.selector: Required value"),
    (lambda s: s.update(replicas=-2), "spec.replicas: Invalid value: -2: must be greater than or equal to 0"),
    (lambda s: s.update(selector={"app": "bad value!"}), 'spec.selector: Invalid value: "bad value!"'),
    (lambda s: s["template"]["spec"].update(restartPolicy="OnFailure"),
     'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"'),
    (lambda s: s.pop("template"), "spec.template: Required value"),
])
def test_replication_controller_rules(mutate, message):
    doc = replication_controller()
    mutate(doc["spec"])
    found = validation_problems(doc)
    assert any(p.startswith(message) for p in found), found


def test_replication_controller_without_selector_is_valid_and_defaults_it_from_the_template():
    doc = replication_controller()
    del doc["spec"]["selector"], doc["metadata"]["labels"], doc["spec"]["replicas"]
    rc = apply_defaults(objects.from_dict(doc))
    labels = {"app": "legacy-web", "track": "stable"}
    assert rc.spec.selector == labels and rc.metadata.labels == labels and rc.spec.replicas == 1
    assert rc.spec.template.spec.scheduler_name == "default-scheduler"
    objects.validate(rc)


def test_stateful_set_defaults():
    doc = stateful_set()
    for key in ("replicas", "podManagementPolicy", "updateStrategy", "revisionHistoryLimit",
                "persistentVolumeClaimRetentionPolicy"):
        del doc["spec"][key]
    sts = apply_defaults(objects.from_dict(doc))
    spec = sts.spec
    assert (spec.replicas, spec.pod_management_policy, spec.revision_history_limit) == (1, "OrderedReady", 10)
    assert spec.update_strategy.type == "RollingUpdate" and spec.update_strategy.rolling_update.partition == 0
    retention = spec.persistent_volume_claim_retention_policy
    assert (retention.when_deleted, retention.when_scaled) == ("Retain", "Retain")
    assert spec.template.spec.restart_policy == "Always"
    objects.validate(sts)
    # as SetDefaults_StatefulSet: a strategy typed RollingUpdate without rollingUpdate gets none
    doc = stateful_set()
    doc["spec"]["updateStrategy"] = {"type": "RollingUpdate"}
    assert apply_defaults(objects.from_dict(doc)).spec.update_strategy.rolling_update is None
    doc["spec"]["updateStrategy"] = {"type": "OnDelete"}
    assert apply_defaults(objects.from_dict(doc)).spec.update_strategy.to_dict() == {"type": "OnDelete"}
    # explicit values stay
    kept = apply_defaults(objects.from_dict(stateful_set()))
    assert kept.spec.update_strategy.rolling_update.partition == 1 and kept.spec.pod_management_policy == "Parallel"


@pytest.mark.parametrize("make, resource, key", [
    (stateful_set, "statefulsets", "/registry/statefulsets/shop/db"),
    (replication_controller, "replicationcontrollers", "/registry/controllers/shop/legacy-web"),
])
def test_registry_stores_watches_and_lists_the_new_kinds(make, resource, key):
    store, reg = new_registry()
    try:
        with reg.watch(resource, namespace="shop") as stream:
            created = reg.create(objects.from_dict(make()))
            event = stream.get(timeout=5)
        assert event.type == "ADDED" and event.object == created
        assert store.get(key.encode()) is not None
        assert reg.get(created.kind, created.metadata.name, "shop") == created
        assert [o.metadata.name for o in reg.list(resource, "shop")] == [created.metadata.name]
        scaled = reg.update(created.replace(spec=created.spec.replace(replicas=5)))
        assert scaled.metadata.generation == 2 and scaled.status == created.status
    finally:
        store.close()

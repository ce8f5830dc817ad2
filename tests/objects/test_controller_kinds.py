"""The kinds the controllers need: Job, EndpointSlice, Event, ControllerRevision (read, validated,
defaulted and stored as the API server does)."""
from __future__ import annotations

import pytest

import objects
from objects import ControllerRevision, EndpointSlice, Event, Job

from registry_helpers import new_registry, validation_problems

CONTAINERS = [{"name": "c", "image": "busybox"}]


def job(**spec):
    body = {"template": {"spec": {"restartPolicy": "Never", "containers": CONTAINERS}}, **spec}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"}, "spec": body}


def slice_doc(**fields):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "web-abc"},
            "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True}}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}], **fields}


def event_doc(**fields):
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.17a", "namespace": "prod"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "prod", "uid": "u1"},
            "reason": "Scheduled", "message": "assigned", "type": "Normal", "count": 1,
            "source": {"component": "replicaset-controller"}, "firstTimestamp": "2024-05-01T10:00:00Z",
            "lastTimestamp": "2024-05-01T10:00:00Z", **fields}


def revision_doc(**fields):
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "ds-7f9"},
            "data": {"spec": {"template": {"metadata": {"labels": {"a": "b"}}}}}, "revision": 3, **fields}


@pytest.mark.parametrize("doc, cls", [(job(), Job), (slice_doc(), EndpointSlice), (event_doc(), Event),
                                      (revision_doc(), ControllerRevision)])
def test_round_trip_as_their_kinds(doc, cls):
    obj = objects.from_dict(doc)
    assert type(obj) is cls
    assert objects.to_dict(obj) == doc


@pytest.mark.parametrize("doc, message", [
    (job(parallelism=-1), "spec.parallelism: Invalid value: -1: must be greater than or equal to 0"),
    (job(backoffLimit=-2), "spec.backoffLimit: Invalid value: -2"),
    (job(completionMode="Sometimes"), 'spec.completionMode: Unsupported value: "Sometimes"'),
    (job(completionMode="Indexed"), "spec.completions: Required value"),
    (job(manualSelector=True), "spec.selector: Required value"),
    (job(selector={"matchLabels": {"a": "b"}}), "spec.template.metadata.labels: Invalid value"),
    ({**job(), "spec": {"template": {"spec": {"containers": CONTAINERS}}}},
     'spec.template.spec.restartPolicy: Required value: supported values: "OnFailure", "Never"'),
    ({**job(), "spec": {"template": {"spec": {"restartPolicy": "Always", "containers": CONTAINERS}}}},
     'spec.template.spec.restartPolicy: Unsupported value: "Always"'),
    ({**job(), "spec": {}}, "spec.template: Required value"),
    (slice_doc(addressType="IPv5"), 'addressType: Unsupported value: "IPv5"'),
    ({k: v for k, v in slice_doc().items() if k != "addressType"}, "addressType: Required value"),
    (slice_doc(endpoints=[{"addresses": []}]), "endpoints[0].addresses: Required value"),
    (slice_doc(ports=[{"port": 70000}]), "ports[0].port: Invalid value: 70000"),
    (event_doc(type="Fatal"), 'type: Unsupported value: "Fatal"'),
    (event_doc(count=-1), "count: Invalid value: -1"),
    (event_doc(lastTimestamp="noon"), 'lastTimestamp: Invalid value: "noon"'),
    ({k: v for k, v in revision_doc().items() if k != "revision"}, "revision: Required value"),
    (revision_doc(revision=-1), "revision: Invalid value: -1"),
])
def test_rules(doc, message):
    found = validation_problems(doc)
    assert any(p.startswith(message) for p in found), found


def test_job_defaults_and_generated_selector_in_the_registry():
    store, registry = new_registry()
    try:
        created = registry.create(objects.from_dict(job()))
        spec = created.spec
        assert (spec.completions, spec.parallelism, spec.backoff_limit) == (1, 1, 6)
        assert (spec.completion_mode, spec.suspend) == ("NonIndexed", False)
        uid = created.metadata.uid
        labels = spec.template.metadata.labels
        assert labels["batch.kubernetes.io/controller-uid"] == uid and labels["job-name"] == "pi"
        assert spec.selector.matches(labels) and not spec.selector.matches({"job-name": "pi"})
        # parallelism alone is defaulted without completions (a work-queue Job)
        assert registry.create(objects.from_dict(
            {**job(), "metadata": {"name": "q"}, "spec": {**job()["spec"], "completions": None,
                                                           "parallelism": 3}})).spec.completions is None
        # a manual selector is kept as written
        manual = job(manualSelector=True, selector={"matchLabels": {"app": "x"}})
        manual["metadata"]["name"] = "m"
        manual["spec"]["template"]["metadata"] = {"labels": {"app": "x"}}
        kept = registry.create(objects.from_dict(manual))
        assert dict(kept.spec.selector.match_labels) == {"app": "x"}
        assert "controller-uid" not in kept.spec.template.metadata.labels
    finally:
        store.close()


@pytest.mark.parametrize("doc, key", [
    (slice_doc(), "/registry/endpointslices/default/web-abc"),
    (event_doc(), "/registry/events/prod/web.17a"),
    (revision_doc(), "/registry/controllerrevisions/default/ds-7f9"),
    (job(), "/registry/jobs/default/pi"),
])
def test_stored_under_the_api_servers_keys(doc, key):
    store, registry = new_registry()
    try:
        created = registry.create(objects.from_dict(doc))
        assert store.get(key) is not None
        again = registry.get(created.kind, created.metadata.name, created.metadata.namespace)
        assert objects.to_dict(again) == objects.to_dict(created)
    finally:
        store.close()


def test_job_status_is_a_subresource():
    store, registry = new_registry()
    try:
        created = registry.create(objects.from_dict(job()))
        with_status = created.replace(status=created.status.replace(active=2, start_time="2024-05-01T10:00:00Z"))
        updated = registry.update_status(with_status)
        assert updated.status.active == 2
        spec_change = updated.replace(spec=updated.spec.replace(parallelism=4), status=updated.status.replace(active=0))
        after = registry.update(spec_change)
        assert after.spec.parallelism == 4 and after.status.active == 2 and after.metadata.generation == 2
    finally:
        store.close()

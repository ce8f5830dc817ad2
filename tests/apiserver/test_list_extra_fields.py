"""Lists filtered on the field labels the API server matches itself (events' involvedObject.*, what
``kubectl describe`` asks for) do not carry a remainingItemCount: kube-apiserver leaves it out whenever
the request has a label or field selector, since the count of what is left unfiltered would mislead
(review finding)."""
from __future__ import annotations

from apiclient import Client

PATH = "/api/v1/namespaces/counted/events"


def _event(name: str, about: str) -> dict:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
            "involvedObject": {"kind": "Pod", "namespace": "counted", "name": about}, "reason": "Tested",
            "message": "m", "type": "Normal"}


def test_a_page_filtered_on_involved_object_has_no_remaining_item_count(client: Client) -> None:
    for i, about in enumerate(["a", "b", "a", "b", "a"]):
        status, _ = client.post(PATH, _event(f"e{i}", about))
        assert status == 201
    status, page = client.get(f"{PATH}?limit=1&fieldSelector=involvedObject.name%3Da")
    assert status == 200 and "continue" in page["metadata"]
    assert "remainingItemCount" not in page["metadata"], page["metadata"]
    status, unfiltered = client.get(f"{PATH}?limit=1")
    assert unfiltered["metadata"]["remainingItemCount"] == 4  # without a selector it is the true count

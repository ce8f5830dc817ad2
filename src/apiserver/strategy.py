"""What kube-apiserver's REST strategies do to a request body before storage: check the identity
(apiVersion, kind, name, namespace against the URL) and reset what a client may not set on create."""
from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

import objects

from .errors import bad_request
from .resources import APIResource

_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # utilrand's: no vowels, no 0/1/3


def identify(res: APIResource, body: dict[str, Any], namespace: str | None, name: str | None = None) -> None:
    """Fill apiVersion / kind / namespace from the URL when absent; 400 when they disagree with it."""
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if not api_version:
        body["apiVersion"] = res.group_version
    elif api_version != res.group_version:
        raise bad_request(f"the API version in the data ({api_version}) does not match the expected API "
                          f"version ({res.group_version})")
    if not kind:
        body["kind"] = res.kind
    elif kind != res.kind:
        raise bad_request(f"the kind in the data ({kind}) does not match the expected kind ({res.kind})")
    meta = body.get("metadata")
    if meta is None:
        meta = body["metadata"] = {}
    if not isinstance(meta, dict):
        return  # validation reports it with its path
    if res.namespaced and namespace is not None:
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the "
                              "request")
        meta["namespace"] = namespace
    if name is not None and meta.get("name") != name:
        raise bad_request(f"the name of the object ({meta.get('name')}) does not match the name on the URL "
                          f"({name})")


def prepare_for_create(res: APIResource, body: dict[str, Any]) -> None:
    """PrepareForCreate: a new object's status is the server's (pods start Pending, namespaces Active);
    nodes keep theirs, as the kubelet registers a node with its status."""
    if res.kind == "Pod":
        body["status"] = {"phase": "Pending"}
    elif res.kind == "Namespace":
        body["status"] = {"phase": "Active"}
    elif res.has_status and res.kind != "Node":
        body.pop("status", None)


def dry_run_create(registry: Any, res: APIResource, obj: Any) -> Any:
    """What create would store, without storing it: a generated name, uid, timestamps, defaults;
    AlreadyExists when the name is taken."""
    d = objects.to_dict(obj)
    meta = d.setdefault("metadata", {})
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = str(meta["generateName"])[:58] + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
    if res.namespaced:
        meta["namespace"] = meta.get("namespace") or "default"
    try:
        registry.get(res.kind, meta.get("name"), meta.get("namespace"))
    except objects.NotFound:
        pass
    else:
        raise objects.AlreadyExists(f'{res.resource} "{meta.get("name")}" already exists')
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    meta["generation"] = 1
    return objects.from_dict(d, defaults=True)

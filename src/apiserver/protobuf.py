"""Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``), for DeleteOptions only.

kubectl's typed clients send protobuf; the one body it sends on a path that matters here is the
DeleteOptions of a DELETE (``kubectl drain`` deletes pods that way). The envelope is the 4 bytes ``k8s\\0``
and a ``runtime.Unknown`` (typeMeta, raw); ``raw`` is the message itself. The message types are declared
below from Kubernetes' generated.proto field numbers and read with the protobuf library.
"""
from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.json_format import MessageToDict

from .errors import bad_request, unsupported_media_type

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"
_F = descriptor_pb2.FieldDescriptorProto

# message name -> [(field name, number, type, label, message type name)]
_MESSAGES: dict[str, list[tuple[str, int, int, int, str]]] = {
    "TypeMeta": [("apiVersion", 1, _F.TYPE_STRING, _F.LABEL_OPTIONAL, ""),
                 ("kind", 2, _F.TYPE_STRING, _F.LABEL_OPTIONAL, "")],
    "Unknown": [("typeMeta", 1, _F.TYPE_MESSAGE, _F.LABEL_OPTIONAL, "TypeMeta"),
                ("raw", 2, _F.TYPE_BYTES, _F.LABEL_OPTIONAL, ""),
                ("contentEncoding", 3, _F.TYPE_STRING, _F.LABEL_OPTIONAL, ""),
                ("contentType", 4, _F.TYPE_STRING, _F.LABEL_OPTIONAL, "")],
    "Preconditions": [("uid", 1, _F.TYPE_STRING, _F.LABEL_OPTIONAL, ""),
                      ("resourceVersion", 2, _F.TYPE_STRING, _F.LABEL_OPTIONAL, "")],
    "DeleteOptions": [("gracePeriodSeconds", 1, _F.TYPE_INT64, _F.LABEL_OPTIONAL, ""),
                      ("preconditions", 2, _F.TYPE_MESSAGE, _F.LABEL_OPTIONAL, "Preconditions"),
                      ("orphanDependents", 3, _F.TYPE_BOOL, _F.LABEL_OPTIONAL, ""),
                      ("propagationPolicy", 4, _F.TYPE_STRING, _F.LABEL_OPTIONAL, ""),
                      ("dryRun", 5, _F.TYPE_STRING, _F.LABEL_REPEATED, "")],
}
_PACKAGE = "borgkit.apiserver.k8s"


def _classes() -> dict[str, Any]:
    file = descriptor_pb2.FileDescriptorProto(name="borgkit_k8s.proto", package=_PACKAGE, syntax="proto2")
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for field_name, number, ftype, label, type_name in fields:
            field = message.field.add(name=field_name, number=number, type=ftype, label=label, json_name=field_name)
            if type_name:
                field.type_name = f".{_PACKAGE}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
            for name in _MESSAGES}


_CLASSES = _classes()


def decode(body: bytes, expected_kind: str) -> dict[str, Any]:
    """The JSON form of a protobuf body of ``expected_kind`` (DeleteOptions); 400 when it is not one, 415
    for a kind that is not read from protobuf."""
    if expected_kind not in _CLASSES or expected_kind in ("Unknown", "TypeMeta"):
        raise unsupported_media_type(("application/json", "application/yaml"))
    if not body.startswith(_MAGIC):
        raise bad_request("the protobuf body does not start with the Kubernetes envelope")
    try:
        envelope = _CLASSES["Unknown"].FromString(body[len(_MAGIC):])
        kind = envelope.typeMeta.kind or expected_kind
        if kind != expected_kind:
            raise bad_request(f"the kind in the data ({kind}) does not match the expected kind ({expected_kind})")
        message = _CLASSES[expected_kind].FromString(envelope.raw)
    except Exception as exc:  # DecodeError and friends: not a message of that type
        if hasattr(exc, "code"):
            raise
        raise bad_request(f"couldn't decode the protobuf body as {expected_kind}: {exc}") from None
    result: dict[str, Any] = MessageToDict(message, preserving_proto_field_name=True)
    if "gracePeriodSeconds" in result:
        result["gracePeriodSeconds"] = int(result["gracePeriodSeconds"])  # int64 is a string in proto JSON
    return result

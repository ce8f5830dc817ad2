"""v1 Event (core group, resource "events"): what happened to an object, counted when it repeats."""
from __future__ import annotations

from typing import Any

from .fieldtypes import Enum, Int, Raw, Str
from .meta import METADATA, TYPE_META, KubeObject, attach_kind
from .schema import Field, Model, model
from .validation import timestamp

__all__ = ["ObjectReference", "EventSource", "Event"]


@model
class ObjectReference(Model):
    """``involvedObject``: the object an Event is about."""

    FIELDS = (
        Field("kind", Str()),
        Field("namespace", Str()),
        Field("name", Str()),
        Field("uid", Str()),
        Field("api_version", Str()),
        Field("resource_version", Str()),
        Field("field_path", Str()),
    )
    kind: str | None
    namespace: str | None
    name: str | None
    uid: str | None
    api_version: str | None
    resource_version: str | None
    field_path: str | None


@model
class EventSource(Model):
    """``source``: the component (and host) that reported the Event."""

    FIELDS = (Field("component", Str()), Field("host", Str()))
    component: str | None
    host: str | None


@model
class Event(KubeObject):
    """An Event (v1). ``count`` and ``lastTimestamp`` grow as the recorder sees the same event again."""

    FIELDS = TYPE_META + (
        METADATA,
        Field("involved_object", ObjectReference, always=True),
        Field("reason", Str()),
        Field("message", Str()),
        Field("source", EventSource),
        Field("first_timestamp", Str(timestamp)),
        Field("last_timestamp", Str(timestamp)),
        Field("count", Int(0)),
        Field("type", Enum("Normal", "Warning")),
        Field("event_time", Str(timestamp)),
        Field("series", Raw()),
        Field("action", Str()),
        Field("related", ObjectReference),
        Field("reporting_component", Str()),
        Field("reporting_instance", Str()),
    )
    involved_object: ObjectReference
    reason: str | None
    message: str | None
    source: EventSource | None
    first_timestamp: str | None
    last_timestamp: str | None
    count: int | None
    type: str | None
    event_time: str | None
    series: Any
    action: str | None
    related: ObjectReference | None
    reporting_component: str | None
    reporting_instance: str | None


attach_kind(Event, "v1", "Event", "events")

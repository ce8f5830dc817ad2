"""Request bodies in (JSON or YAML) and JSON out, as the API server's serializers accept and write them."""
from __future__ import annotations

import json
from typing import Any

import orjson
import yaml

import objects

from .errors import bad_request, unsupported_media_type

JSON = "application/json"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as the API server writes it (orjson: a list of 150,000 pods is one call)."""
    try:
        return orjson.dumps(value)
    except TypeError:  # an int beyond 64 bits, which JSON allows and orjson refuses
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def as_dict(obj: Any) -> dict[str, Any]:
    """The JSON form of a model object (dicts pass through)."""
    return obj if isinstance(obj, dict) else objects.to_dict(obj)


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    return (content_type or "").split(";")[0].strip().lower()


def decode(raw: bytes, content_type: str | None) -> Any:
    """A JSON or YAML body; 400 when it does not parse, 415 for another media type."""
    kind = media_type(content_type) or JSON
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request(f"the request body is not UTF-8: {exc}") from None
    if kind in YAML_TYPES:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise bad_request(f"error converting YAML to JSON: {exc}") from None
    if kind == JSON or kind.endswith("+json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise bad_request(f"couldn't decode the request body as JSON: {exc}") from None
    raise unsupported_media_type((JSON, "application/yaml"))


def decode_object(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """A body that must be one JSON object."""
    body = decode(raw, content_type)
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object, not "
                          f"{'null' if body is None else type(body).__name__}")
    return body

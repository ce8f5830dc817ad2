"""The API server's field rules, each a function ``value -> list of problems`` in its own words.

Models attach these checks to their fields, so validation runs as part of every read
(:func:`objects.from_dict`), in the same pass; :func:`validate` checks an object built in Python.
"""
from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any, Callable

from .errors import FieldError, ValidationError
from .labelsyntax import dns1123_subdomain_problems, label_value_problems, qualified_name_problems

__all__ = [
    "dns1123_label", "dns1123_subdomain", "dns1035_label", "qualified_name", "label_value", "name_prefix",
    "config_map_key", "port_name", "target_port", "timestamp", "ip_address", "percent_or_int", "resource_name", "validate",
    "STANDARD_RESOURCES",
]

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_RE = re.compile(f"^{_DNS1123_LABEL_FMT}$")
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_RE = re.compile(f"^{_DNS1035_LABEL_FMT}$")
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_RE = re.compile(f"^{_CONFIG_KEY_FMT}$")
_PERCENT_RE = re.compile(r"^[0-9]+%$")
_PORT_NAME_CHARSET_RE = re.compile(r"^[-a-z0-9]+$")
_LETTER_RE = re.compile(r"[a-z]")
# RFC 3339 as Kubernetes writes metav1.Time / MicroTime: date, "T", time, optional fraction, zone.
_TIMESTAMP_RE = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?"
    r"([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$")
# A dotted quad as ipaddress.IPv4Address reads it: ASCII decimal octets up to 255, no leading zeros.
_IPV4_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_RE = re.compile(rf"(?:{_IPV4_OCTET}\.){{3}}{_IPV4_OCTET}")

STANDARD_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage", "pods", "storage"})
_STANDARD_PREFIXES = ("hugepages-", "requests.", "limits.")


def memoized(check: Callable[[str], list[str]]) -> Callable[[str], tuple[str, ...]]:
    """A check remembered per value: names, keys and resource names repeat across thousands of objects."""
    cached = lru_cache(maxsize=16384)(lambda value: tuple(check(value)))

    def remembered(value: str) -> tuple[str, ...]:
        return cached(value) if type(value) is str else tuple(check(value))
    remembered.__name__ = check.__name__
    remembered.__doc__ = check.__doc__
    return remembered


def _label_problems(value: str, regex: re.Pattern[str], rule: str) -> list[str]:
    """The two problems a DNS label can have: its length, and ``rule`` (the API server's sentence)."""
    problems = []
    if len(value) > 63:
        problems.append("must be no more than 63 characters")
    if not regex.match(value):
        problems.append(f"{rule}, regex used for validation is '{regex.pattern[1:-1]}')")
    return problems


def dns1123_label(value: str) -> list[str]:
    """IsDNS1123Label: lowercase alphanumerics and '-', at most 63 characters (namespace names)."""
    return _label_problems(value, _DNS1123_LABEL_RE, "a lowercase RFC 1123 label must consist of lower case "
                           "alphanumeric characters or '-', and must start and end with an alphanumeric character "
                           "(e.g. 'my-name',  or '123-abc'")


def dns1123_subdomain(value: str) -> list[str]:
    """IsDNS1123Subdomain: lowercase RFC 1123 subdomain of at most 253 characters (most object names)."""
    return dns1123_subdomain_problems(value)


def dns1035_label(value: str) -> list[str]:
    """IsDNS1035Label: like an RFC 1123 label but starting with a letter (Service names)."""
    return _label_problems(value, _DNS1035_LABEL_RE, "a DNS-1035 label must consist of lower case alphanumeric "
                           "characters or '-', start with an alphabetic character, and end with an alphanumeric "
                           "character (e.g. 'my-name',  or 'abc-123'")


def qualified_name(value: str) -> list[str]:
    """IsQualifiedName: label and annotation keys, topology keys, finalizers ("[prefix/]name")."""
    return qualified_name_problems(value)


def label_value(value: str) -> list[str]:
    """IsValidLabelValue: empty or at most 63 alphanumerics with '-', '_', '.' inside."""
    return label_value_problems(value)


def name_prefix(rule: Any) -> Any:
    """The check of a ``generateName`` prefix: the name rule, a trailing '-' allowed (maskTrailingDash)."""
    def check(value: str) -> list[str]:
        if len(value) > 1 and value.endswith("-"):
            value = value[:-2] + "a"
        return rule(value)
    check.__doc__ = f"{rule.__name__} for a generateName prefix"
    return check


def port_name(value: str) -> list[str]:
    """IsValidPortName (IANA_SVC_NAME): at most 15 of [-a-z0-9], a letter, no "--", no '-' at either end."""
    problems = []
    if len(value) > 15:
        problems.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARSET_RE.match(value):
        problems.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _LETTER_RE.search(value):
        problems.append("must contain at least one letter (a-z)")
    if "--" in value:
        problems.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        problems.append("must not begin or end with a hyphen")
    return problems


def target_port(value: int | str) -> list[str]:
    """A Service's targetPort: a port number (0 means "the port", filled in by defaulting) or a port name."""
    if type(value) is int:
        return [] if 0 <= value <= 65535 else ["must be between 1 and 65535, inclusive"]
    return port_name(value)


def config_map_key(value: str) -> list[str]:
    """IsConfigMapKey: alphanumerics, '-', '_', '.', at most 253 characters, not '.' or '..'."""
    problems = []
    if len(value) > 253:
        problems.append("must be no more than 253 characters")
    if not _CONFIG_KEY_RE.match(value):
        problems.append("a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                        f"(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
                        f"'{_CONFIG_KEY_FMT}')")
    if value in (".", ".."):
        problems.append(f"must not be '{value}'")
    return problems


def timestamp(value: str) -> list[str]:
    """An RFC 3339 time as metav1.Time and MicroTime are written ("2024-05-01T10:00:00Z")."""
    if _TIMESTAMP_RE.match(value):
        return []
    return ["must be an RFC 3339 timestamp (e.g. '2024-05-01T10:00:00Z')"]


def ip_address(value: str) -> list[str]:
    """A valid IPv4 or IPv6 address."""
    if type(value) is str and _IPV4_RE.fullmatch(value):
        return []  # what ipaddress accepts as IPv4, without building the address (pod IPs rarely repeat)
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]
    return []


def percent_or_int(value: Any) -> list[str]:
    """An IntOrString that counts pods: a non-negative integer or a percentage such as "25%"."""
    if type(value) is int:
        return [] if value >= 0 else ["must be greater than or equal to 0"]
    if not _PERCENT_RE.match(value):
        return ["a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  "
                "or '93%', regex used for validation is '[0-9]+%')"]
    return []


def resource_name(value: str) -> list[str]:
    """validateResourceName: a qualified name, standard ("cpu", "hugepages-2Mi") or with a domain."""
    problems = qualified_name_problems(value)
    if not problems and "/" not in value and value not in STANDARD_RESOURCES \
            and not value.startswith(_STANDARD_PREFIXES):
        problems.append("must be a standard resource type or fully qualified")
    return problems


def validate(obj: Any) -> None:
    """Check an object built or changed in Python by the same rules a read applies.

    Raises :class:`ValidationError` listing every problem.  (Reading already validates, so only objects
    assembled by code need this.)
    """
    from .codec import from_dict, to_dict  # the codec imports the models, which import this module
    try:
        data = to_dict(obj)
    except ValidationError:
        raise
    except Exception as e:  # noqa: BLE001 - a malformed attribute must surface as a validation problem
        raise ValidationError(FieldError("", f"cannot be written as JSON: {e}", type(obj).__name__)) from None
    from_dict(data)


# Every rule is a pure function of one string: remember the answers (the module's public checks are these).
dns1123_label = memoized(dns1123_label)  # type: ignore[assignment]
dns1123_subdomain = memoized(dns1123_subdomain)  # type: ignore[assignment]
dns1035_label = memoized(dns1035_label)  # type: ignore[assignment]
qualified_name = memoized(qualified_name)  # type: ignore[assignment]
label_value = memoized(label_value)  # type: ignore[assignment]
resource_name = memoized(resource_name)  # type: ignore[assignment]
timestamp = memoized(timestamp)  # type: ignore[assignment]
ip_address = memoized(ip_address)  # type: ignore[assignment]
port_name = memoized(port_name)  # type: ignore[assignment]

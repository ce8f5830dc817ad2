"""Syntax rules for label keys, label values and DNS names, with the API server's messages.

Shared by selectors, taints and node selectors: each check returns the list of problems as
:class:`FieldError` values (empty when fine), so callers can report every problem at once.
"""
from __future__ import annotations

import re
from typing import Any

from .errors import FieldError

_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_RE = re.compile(f"^{_NAME_FMT}$")
_LABEL_VALUE_FMT = f"({_NAME_FMT})?"
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = f"{_DNS1123_LABEL_FMT}(\\.{_DNS1123_LABEL_FMT})*"
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{_DNS1123_SUBDOMAIN_FMT}$")

QUALIFIED_NAME_MAX_LENGTH = 63
LABEL_VALUE_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253

_NAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
             "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
             f"validation is '{_NAME_FMT}')")
_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
              "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
              f"'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE_FMT}')")
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
                  "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                  f"regex used for validation is '{_DNS1123_SUBDOMAIN_FMT}')")


def qualified_name_problems(value: str) -> list[str]:
    """IsQualifiedName: "[prefix/]name", prefix a DNS subdomain, name at most 63 characters."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
        problems: list[str] = []
    elif len(parts) == 2:
        prefix, name = parts
        problems = []
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            problems.extend("prefix part " + p for p in dns1123_subdomain_problems(prefix))
    else:
        return ["a qualified name " + _NAME_MSG + " with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"]
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > QUALIFIED_NAME_MAX_LENGTH:
        problems.append(f"name part must be no more than {QUALIFIED_NAME_MAX_LENGTH} characters")
    if name and not _NAME_RE.match(name):
        problems.append("name part " + _NAME_MSG)
    return problems


def label_value_problems(value: str) -> list[str]:
    """IsValidLabelValue: empty, or at most 63 alphanumerics with '-', '_', '.' inside."""
    problems = []
    if len(value) > LABEL_VALUE_MAX_LENGTH:
        problems.append(f"must be no more than {LABEL_VALUE_MAX_LENGTH} characters")
    if not _LABEL_VALUE_RE.match(value):
        problems.append(_VALUE_MSG)
    return problems


def dns1123_subdomain_problems(value: str) -> list[str]:
    """IsDNS1123Subdomain: lowercase RFC 1123 subdomain of at most 253 characters."""
    problems = []
    if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        problems.append(f"must be no more than {DNS1123_SUBDOMAIN_MAX_LENGTH} characters")
    if not _DNS1123_SUBDOMAIN_RE.match(value):
        problems.append(_SUBDOMAIN_MSG)
    return problems


def check_label_key(key: Any, path: str) -> list[FieldError]:
    """Problems with a label key (or a taint / toleration / requirement key) at ``path``."""
    if not isinstance(key, str):
        return [FieldError(path, "must be a string", repr(key))]
    return [FieldError(path, msg, key) for msg in qualified_name_problems(key)]


def check_label_value(value: Any, path: str) -> list[FieldError]:
    """Problems with a label value at ``path``."""
    if not isinstance(value, str):
        return [FieldError(path, "must be a string", repr(value))]
    return [FieldError(path, msg, value) for msg in label_value_problems(value)]


def check_labels(labels: Any, path: str) -> list[FieldError]:
    """Problems with a labels map (ValidateLabels): every key and every value."""
    if not isinstance(labels, dict):
        return [FieldError(path, "must be a map of string to string", repr(labels))]
    errors: list[FieldError] = []
    for key, value in labels.items():
        errors.extend(check_label_key(key, path))
        if isinstance(key, str):
            errors.extend(check_label_value(value, path))
    return errors


def check_string_list(values: Any, path: str) -> list[FieldError]:
    """Problems with a field that must be a list of strings."""
    if not isinstance(values, (list, tuple)):
        return [FieldError(path, "must be a list of strings", repr(values))]
    return [FieldError(f"{path}[{i}]", "must be a string", repr(v))
            for i, v in enumerate(values) if not isinstance(v, str)]

"""Every package name the docs and the README mention can be imported and resolved.

The docs are the user's first contact: a name printed there that raises AttributeError (as
``kvstore.Member`` once did, hidden by a second module ``__getattr__``) is a bug.
"""
from __future__ import annotations

import ast
import importlib
import pathlib
import re
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# the packages whose docs describe what exists; the docs of packages being built this session (controllers,
# apiserver) also name what is planned ("Later, ...: python -m controllers.sim")
PACKAGES = ("kvstore", "objects", "scheduling", "borgsim")
DOCUMENTS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
_ALTERNATION = "|".join(PACKAGES)
# ``kvstore.open``, ``objects.FieldSelector.parse``; not a path (docs/kvstore.md), not a domain (scheduling.k8s.io)
_DOTTED = re.compile(rf"(?<![\w/.-])((?:{_ALTERNATION})(?:\.[A-Za-z_]\w*)+)")
_NOT_PYTHON = {"md", "py", "io", "yaml", "json", "txt"}
# ``from kvstore import Compare, Op`` and ``from scheduling.framework import (A, B,\n C)``
_FROM_IMPORT = re.compile(rf"^\s*from ((?:{_ALTERNATION})(?:\.\w+)*) import (\([^)]*\)|[^\n]*)", re.M)


def _mentioned() -> dict[str, set[str]]:
    """Each dotted name (``module.attr...``) the documents mention, with the documents mentioning it."""
    names: dict[str, set[str]] = {}
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in _DOTTED.finditer(text):
            dotted = match.group(1)
            if dotted.rsplit(".", 1)[1] in _NOT_PYTHON or text[match.end():match.end() + 1] == "/":
                continue
            names.setdefault(dotted, set()).add(path.name)
        for match in _FROM_IMPORT.finditer(text):
            module, imported = match.groups()
            # parse the import statement itself, so that comments and "as" aliases are read as Python does
            try:
                tree = ast.parse(f"from {module} import {imported.split('#')[0].strip()}")
            except SyntaxError:
                continue
            for alias in tree.body[0].names:  # type: ignore[attr-defined]
                names.setdefault(f"{module}.{alias.name}", set()).add(path.name)
    return names


def _resolve(dotted: str) -> Any:
    """Import the longest module prefix of ``dotted``, then read the rest as attributes."""
    parts = dotted.split(".")
    obj: Any = importlib.import_module(parts[0])
    for position, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            # a submodule not imported by its package yet (kvstore.replication, scheduling.bench)
            obj = importlib.import_module(".".join(parts[:position + 1]))
    return obj


MENTIONED = _mentioned()


def test_the_documents_mention_names() -> None:
    # guards the scanner itself: these are printed in docs/kvstore.md and README.md
    assert "kvstore.open" in MENTIONED
    assert any(name.startswith("objects.") for name in MENTIONED)


@pytest.mark.parametrize("dotted", sorted(MENTIONED))
def test_documented_name_resolves(dotted: str) -> None:
    try:
        _resolve(dotted)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"{dotted} (mentioned in {', '.join(sorted(MENTIONED[dotted]))}) does not resolve: {error}")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    for name in getattr(module, "__all__", ()):
        assert hasattr(module, name), f"{package}.__all__ lists {name} but {package}.{name} does not resolve"


def test_kvstore_raft_names_resolve_lazily() -> None:
    import kvstore
    from kvstore import replication

    assert kvstore.Member is replication.Member
    assert kvstore.Cluster is replication.Cluster
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        kvstore.Nothing  # noqa: B018

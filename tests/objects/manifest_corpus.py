"""The manifest corpus of tests/objects/manifests, as raw documents (for the model, codec and fuzz tests)."""
from __future__ import annotations

import copy
import pathlib
from typing import Any

from objects.codec import _expand_lists, _read_documents

MANIFESTS = pathlib.Path(__file__).parent / "manifests"


def corpus_files() -> list[pathlib.Path]:
    return sorted(p for p in MANIFESTS.iterdir() if p.suffix in (".yaml", ".json"))


def corpus_documents() -> list[dict[str, Any]]:
    """Every object document of the corpus (List items spliced in), freshly parsed."""
    docs: list[dict[str, Any]] = []
    for path in corpus_files():
        docs.extend(_expand_lists(_read_documents(path.read_text())))
    return docs


def document(kind: str, name: str) -> dict[str, Any]:
    """A deep copy of one corpus document."""
    for d in corpus_documents():
        if d["kind"] == kind and d["metadata"].get("name") == name:
            return copy.deepcopy(d)
    raise KeyError((kind, name))

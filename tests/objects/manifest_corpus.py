"""The manifest corpus of tests/objects/manifests, as raw documents (for the model, codec and fuzz tests)."""
from __future__ import annotations

import copy
import functools
import pathlib
from typing import Any

from objects.codec import _expand_lists, _read_documents

MANIFESTS = pathlib.Path(__file__).parent / "manifests"


def corpus_files() -> list[pathlib.Path]:
    return sorted(p for p in MANIFESTS.iterdir() if p.suffix in (".yaml", ".json"))


@functools.lru_cache(maxsize=1)
def _parsed() -> tuple[dict[str, Any], ...]:
    docs: list[dict[str, Any]] = []
    for path in corpus_files():
        docs.extend(_expand_lists(_read_documents(path.read_text())))
    return tuple(docs)


def corpus_documents() -> list[dict[str, Any]]:
    """Every object document of the corpus (List items spliced in), a fresh deep copy each call (parsed
    once per session: parsing the YAML took 0.4 s a call, a deep copy takes 1 ms)."""
    return copy.deepcopy(list(_parsed()))


def document(kind: str, name: str) -> dict[str, Any]:
    """A deep copy of one corpus document."""
    for d in corpus_documents():
        if d["kind"] == kind and d["metadata"].get("name") == name:
            return copy.deepcopy(d)
    raise KeyError((kind, name))

"""Each model class's generated ``to_dict``, ``_copy`` and ``__deepcopy__`` (objects.schema) do what
Model's generic ones do: the same dict, keys in the same order, a copy holding the same attribute values,
a deep copy equal to the generic one's, sharing nothing mutable with the original and counting no
mutation."""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from manifest_corpus import corpus_documents
import objects
from objects.codec import KINDS
from objects.schema import MUTATIONS, Model


def _ordered(value: Any) -> str:
    return json.dumps(value, sort_keys=False, default=repr)  # key order counts: the store packs it as is


def _models(obj: Any) -> list[Any]:
    """``obj`` and every model inside it."""
    found, todo = [], [obj]
    while todo:
        item = todo.pop()
        if isinstance(item, Model):
            found.append(item)
            todo.extend(getattr(item, name) for name in type(item).__slots_all__)
        elif isinstance(item, (list, tuple)):
            todo.extend(item)
        elif isinstance(item, dict):
            todo.extend(item.values())
    return found


def _containers(obj: Any) -> set[int]:
    """Ids of the lists, dicts and models inside ``obj`` (ABSENT, a shared immutable marker, left out)."""
    found, todo = set(), [obj]
    while todo:
        item = todo.pop()
        if isinstance(item, Model):
            found.add(id(item))
            todo.extend(getattr(item, name) for name in type(item).__copied__)
        elif type(item) in (list, dict):
            found.add(id(item))
            todo.extend(item.values() if type(item) is dict else item)
    return found


def _documents() -> list[dict[str, Any]]:
    return [d for d in corpus_documents() if isinstance(d, dict)]


@pytest.mark.parametrize("doc", _documents(), ids=lambda d: f"{d.get('kind')}/{(d.get('metadata') or {}).get('name')}")
def test_generated_to_dict_and_copy_match_the_generic_ones(doc):
    try:
        obj = objects.from_dict(doc, defaults=True)
    except objects.ValidationError:
        return  # the corpus keeps invalid documents too
    for part in _models(obj):
        assert _ordered(part.to_dict()) == _ordered(Model.to_dict(part))
        copied = part._copy()
        assert type(copied) is type(part)
        for name in type(part).__slots_all__:
            assert getattr(copied, name) is getattr(part, name)
        changed = {name: object() for name in type(part).__slots_all__[:2]}
        copied = part._copy(**changed)
        for name in type(part).__slots_all__:
            assert getattr(copied, name) is changed.get(name, getattr(part, name))
        mutations = MUTATIONS[0]
        deep, generic = copy.deepcopy(part), Model.__deepcopy__(part, {})
        assert MUTATIONS[0] == mutations  # building a copy is not a mutation
        assert type(deep) is type(part) and deep == generic == part
        assert _ordered(deep.to_dict()) == _ordered(generic.to_dict())
        assert not _containers(deep) & _containers(part)
        for name in type(part).DERIVED:  # recomputed on the copy, as the generic copy does
            assert repr(getattr(deep, name)) == repr(getattr(generic, name))


def test_every_model_kind_has_generated_methods():
    for cls in KINDS.values():
        assert cls.to_dict is not Model.to_dict and cls._copy is not Model._copy
        assert cls.__deepcopy__ is not Model.__deepcopy__

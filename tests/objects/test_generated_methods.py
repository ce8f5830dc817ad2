"""Each model class's generated ``to_dict``, ``_copy``, ``__deepcopy__`` and ``replace`` (objects.schema) do what
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
        _check_replace(part)


def _check_replace(part: Any) -> None:
    """The generated ``replace`` builds what the generic one builds: the same attributes (derived values
    computed again from them), the changed ones in place, the same error for a name that is not a field."""
    cls = type(part)
    attrs = [f.attr for f in cls.FIELDS]
    changes_list = [{}, {"unknown_fields": {"x": 1}}] + [{attrs[i]: getattr(part, attrs[-1 - i])} for i in range(min(2, len(attrs)))]
    for changes in changes_list:
        generated, generic = part.replace(**dict(changes)), Model.replace(part, **dict(changes))
        assert type(generated) is type(generic) is cls
        for name in cls.__copied__:
            mine, theirs = getattr(generated, name), getattr(generic, name)
            # a list or map field given None is a fresh empty one in each (the constructor's)
            assert mine is theirs or (type(mine) is type(theirs) and type(mine) in (list, dict) and mine == theirs == type(mine)())
        for name in cls.DERIVED:
            assert repr(getattr(generated, name)) == repr(getattr(generic, name))
    for bad in ({"no_such_field": 1}, {attrs[0]: None, "no_such_field": 1, "other": 2} if attrs else {"x": 1}):
        with pytest.raises(TypeError) as generated_error:
            part.replace(**bad)
        with pytest.raises(TypeError) as generic_error:
            Model.replace(part, **bad)
        assert str(generated_error.value) == str(generic_error.value)


def test_every_model_kind_has_generated_methods():
    for cls in KINDS.values():
        assert cls.to_dict is not Model.to_dict and cls._copy is not Model._copy and cls.replace is not Model.replace
        assert cls.__deepcopy__ is not Model.__deepcopy__

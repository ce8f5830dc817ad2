"""Imports point one way: scheduling -> objects -> kvstore; controllers -> objects; apiserver -> objects.
Controllers and apiserver know nothing of each other nor of scheduling; only a composition entry point
(a ``__main__.py``, or the composition package borgsim, the cluster simulation) may import several top
packages, and no library package imports the composition package."""
import ast
import pathlib

SRC = pathlib.Path(__file__).resolve().parents[1] / "src"
ALLOWED = {"kvstore": set(), "objects": {"kvstore"}, "scheduling": {"objects", "kvstore"},
           "controllers": {"objects"}, "apiserver": {"objects"}}
# The composition package: the simulator wires store, Registry, scheduler, controllers and hollow nodes.
COMPOSITION = {"borgsim": {"kvstore", "objects", "scheduling", "controllers"}}


def _imported_top_levels(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_imports_point_one_way() -> None:
    for package, allowed in ALLOWED.items():
        others = set(ALLOWED) - allowed - {package}
        for path in (SRC / package).rglob("*.py"):
            if path.name == "__main__.py":
                continue  # a composition entry point
            bad = _imported_top_levels(path) & others
            assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def test_only_the_composition_package_imports_several_top_packages() -> None:
    tops = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert tops == set(ALLOWED) | set(COMPOSITION), f"a new top package needs its rule here: {sorted(tops)}"
    for package, allowed in COMPOSITION.items():
        for path in (SRC / package).rglob("*.py"):
            bad = _imported_top_levels(path) & (tops - allowed - {package})
            assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"
    for package in ALLOWED:  # nothing below imports the composition package
        for path in (SRC / package).rglob("*.py"):
            assert not _imported_top_levels(path) & set(COMPOSITION), path


def test_no_pickle_anywhere() -> None:
    for path in SRC.rglob("*.py"):
        if "replication" in path.parts:
            continue  # the pysyncobj guard mentions pickle to refuse it; checked by its own tests
        assert "pickle" not in _imported_top_levels(path), path

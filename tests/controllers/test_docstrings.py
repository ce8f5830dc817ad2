"""Every public class, function, method and property of the controllers package says what it does (the
developers' guide: public API documented in docstrings)."""
from __future__ import annotations

import ast
import pathlib

import controllers

PACKAGE = pathlib.Path(controllers.__file__).parent


def _undocumented(path: pathlib.Path) -> list[str]:
    missing = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if child.name.startswith("_"):
                    continue
                if ast.get_docstring(child) is None:
                    missing.append(f"{path.name}:{child.lineno} {prefix}{child.name}")
                if isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(path.read_text()), "")
    return missing


def test_every_public_name_has_a_docstring() -> None:
    missing = [name for path in sorted(PACKAGE.glob("*.py")) for name in _undocumented(path)]
    assert missing == []

"""Rounds that compare source trees, for the benches with ``--src OTHER/src``: every round runs the bench's
``--child`` once per tree (this checkout's ``src`` first, then each ``--src``) in a fresh interpreter with
that tree on ``PYTHONPATH``, the order reversed every other round so a drifting load falls on each tree
alike. A child prints its figures as JSON on its last line of output.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any, Sequence

__all__ = ["source_trees", "alternate", "print_medians"]

_HERE_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def source_trees(extra: Sequence[str]) -> list[str]:
    """This checkout's ``src``, then each ``--src`` given, as absolute paths."""
    return [_HERE_SRC] + [os.path.abspath(s) for s in extra]


def _child(script: str, child_args: Sequence[str], src: str) -> Any:
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run([sys.executable, script, "--child", *child_args], env=env, check=True,
                         capture_output=True, text=True, timeout=600).stdout
    return json.loads(out.strip().splitlines()[-1])


def alternate(script: str, child_args: Sequence[str], trees: Sequence[str], rounds: int) -> dict[str, list[Any]]:
    """Per tree, what its child printed in each round (``script --child *child_args``)."""
    figures: dict[str, list[Any]] = {tree: [] for tree in trees}
    for number in range(rounds):
        for tree in trees if number % 2 == 0 else trees[::-1]:
            figures[tree].append(_child(script, child_args, tree))
    return figures


def print_medians(figures: dict[str, list[dict[str, float]]], names: Sequence[str]) -> None:
    """One row per figure name, one column per tree: the median over the rounds."""
    trees = list(figures)
    print(f"{'':22s}" + "".join(f"{tree[-28:]:>30s}" for tree in trees))
    for name in names:
        row = [statistics.median(r[name] for r in figures[tree]) for tree in trees]
        print(f"{name:22s}" + "".join(f"{value:30.1f}" for value in row))

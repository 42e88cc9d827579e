"""Sizes of the code: the largest modules and the functions and classes longer than a screen.

Usage::

    python bench/code_sizes.py [CHECKOUT]     # default: this checkout

Counts lines (docstrings included) with :mod:`ast`: the eight largest modules of the four
packages and ``optimise.py``, the number of functions over 80 lines and the largest
functions and classes (classes over 300 lines).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGES = ("catchment", "solvers", "geodata", "maps")


def main(argv: list[str] | None = None) -> int:
    """Print the sizes of the checkout given (default: this one)."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parents[1]
    modules: list[tuple[int, str]] = []
    long: list[tuple[int, str]] = []
    paths = [p for package in PACKAGES for p in sorted((root / package).rglob("*.py"))] + [root / "optimise.py"]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(root))
        modules.append((len(text.splitlines()), name))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.end_lineno:
                lines = node.end_lineno - node.lineno + 1
                is_class = isinstance(node, ast.ClassDef)
                if lines > (300 if is_class else 80):
                    long.append((lines, f"{name}::{node.name}{' (class)' if is_class else ''}"))
    modules.sort(reverse=True)
    long.sort(reverse=True)
    print("largest modules:", ", ".join(f"{name} {n}" for n, name in modules[:8]))
    print("functions over 80 lines:", sum(1 for _, name in long if not name.endswith("(class)")))
    print("largest functions and classes:", ", ".join(f"{name} {n}" for n, name in long[:8]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

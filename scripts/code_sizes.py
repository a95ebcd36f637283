"""Functions over N lines and modules over M lines (the architecture limits of issue 13).

    .venv/bin/python scripts/code_sizes.py [--function-lines 100] [--module-lines 600] [dirs ...]

Counts a function's lines from its ``def`` (decorators included) to its last line, as the
issue measured them; nested functions count inside their parent and on their own. Prints
one line per function or module over its limit (longest first) and exits 0: a list to
read, not a gate.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def sizes(paths: list[Path]) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(function lines, name) and (module lines, path) for every ``*.py`` under ``paths``."""
    functions, modules = [], []
    for root in paths:
        for path in sorted(Path(root).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
            modules.append((len(text.splitlines()), str(shown)))
            stack = [(node, "") for node in ast.parse(text).body]
            while stack:
                node, prefix = stack.pop()
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    name = f"{prefix}{node.name}"
                    if not isinstance(node, ast.ClassDef):
                        first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                        functions.append((node.end_lineno - first + 1, f"{shown}:{name}"))
                    stack += [(child, f"{name}.") for child in node.body]
    return functions, modules


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--function-lines", type=int, default=100)
    ap.add_argument("--module-lines", type=int, default=600)
    ap.add_argument("dirs", nargs="*", default=["sim", "experiments"])
    args = ap.parse_args(argv)
    functions, modules = sizes([REPO / d for d in args.dirs])
    long_f = sorted((f for f in functions if f[0] > args.function_lines), reverse=True)
    long_m = sorted((m for m in modules if m[0] > args.module_lines), reverse=True)
    print(f"functions over {args.function_lines} lines: {len(long_f)}")
    for n, name in long_f:
        print(f"  {n:5d}  {name}")
    print(f"modules over {args.module_lines} lines: {len(long_m)}")
    for n, name in long_m:
        print(f"  {n:5d}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

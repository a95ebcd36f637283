#!/usr/bin/env python3
"""Move the flat ``sim/`` modules into packages and rewrite every reference (issue 13).

Deterministic and idempotent: run it on a clean git checkout, review ``git status``, run
the tests, commit. A second run finds nothing to move and changes nothing.

    python scripts/relayout.py            # apply to the repository this script is in
    python scripts/relayout.py --check    # what would move; names it does not know (exit 1)
    python scripts/relayout.py --root DIR --map new_module=stats/new_module

What it does, in order:

1. relative imports inside ``sim/`` become absolute (resolved against each file's package);
2. ``git mv`` of every module in ``MAPPING`` to its new home, creating the packages'
   ``__init__.py`` (docstrings in ``PACKAGES``);
3. in every tracked text file (code, tests, configs, docs, Makefile): ``sim.old`` dotted
   names (imports, ``import sim.old as x``, Hydra ``_target_``, ``python -m sim.old``,
   ``monkeypatch`` strings such as ``"sim.old.X"``) and ``sim/old.py`` paths are rewritten,
   and ``from sim import old`` becomes ``from sim.pkg import new [as old]``;
4. ``Path(__file__)...parent`` and ``.with_name(...)`` in moved modules get one more level per
   level of depth, so they still point where they did (``configs/``, ``sim/templates/``);
5. re-export shims for the public API users import (``SHIMS``: ``sim.model``, ``sim.metrics``);
6. ``ruff check --fix --select I`` on the changed Python files (import order), if ruff runs.

A flat module it does not know (added after this script was written) is left in place with
a warning: add one line to ``MAPPING`` (or pass ``--map name=package/name``) to place it, or
to ``STAY`` to keep it at the top. This script and its test are never rewritten.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import subprocess
import sys
import tokenize
import tomllib
from pathlib import Path

PKG = "sim"

# old module (under sim/, no .py) -> new path (under sim/, no .py). One line per module.
MAPPING: dict[str, str] = {
    # engine: the weekly loop, both engines, and what it reads
    "model": "engine/model",
    "pathways": "engine/pathways",
    "population": "engine/population",
    "rng": "engine/rng",
    "categories": "engine/categories",
    "transitions": "engine/transitions",
    # programme: components, eligibility, capacity, resolving evidence into hazard ratios
    "interventions": "programme/interventions",
    "effects": "programme/effects",
    "eligibility": "programme/eligibility",
    "persistence": "programme/persistence",
    "variants": "programme/variants",
    # evidence: the registry, conversions between effect measures, in-silico trials
    "evidence": "evidence/registry",
    "conversions": "evidence/conversions",
    "trials": "evidence/trials",
    # results: what a run produces
    "outcomes": "results/outcomes",
    "economics": "results/economics",
    "calibration": "results/calibration",
    "output": "results/output",
    "manifest": "results/manifest",
    "plots": "results/plots",
    # stats: equity metrics, survival, paired comparisons
    "metrics": "stats/metrics",
    # compare: designs against usual care (sweeps, the report)
    "sweep": "compare/sweep",
    "report": "compare/report",
    "report_dcea": "compare/report_dcea",
    "report_sweep": "compare/report_sweep",
    "report_charts": "compare/report_charts",
    "report_text": "compare/report_text",
    "report_words": "compare/report_words",
    "sweep_compare": "compare/sweep_compare",
    # uncertainty: PSA joins factors, gsa, discovery there
    "psa": "uncertainty/psa",
    "decomposition": "uncertainty/decomposition",  # equity gaps: evidence vs assumption
    # cli: everything between a command line and simulate() (python -m sim stays sim/__main__)
    "analysis": "cli/apps",
    "preflight": "cli/preflight",
    "launchers": "cli/launchers",
    "resources": "cli/resources",
    # explorer: the browser explorer
    "explorer": "explorer/adapter",
    "explorer_app": "explorer/app",
}

# Flat modules that stay at the top of sim/ on purpose.
STAY = {"__init__", "__main__", "config", "simulate", "io", "errors", "textsafe",
        "vocabulary", "docs_tables", "config_schema", "config_nodes", "background"}

PACKAGES: dict[str, str] = {
    "engine": "The simulation engine: population, hazards, the weekly loop in two engines.",
    "programme": "Programme designs: components, eligibility, capacity, hazard ratios.",
    "evidence": "The evidence registry, conversions between effect measures, trials.",
    "results": "What a run produces: outcomes, economics, calibration, files, figures.",
    "stats": "Statistics: equity metrics, survival (Aalen-Johansen), paired differences.",
    "compare": "Designs against usual care: sweeps, aggregation and the HTML report.",
    "uncertainty": "Uncertainty analyses: factors, PSA, global sensitivity, discovery.",
    "cli": "Command lines: preflight checks, launchers, the analysis apps' plumbing.",
    "explorer": "The interactive explorer: model adapter and Solara page.",
}

# Public import paths that keep working after the move (issue 13 "stable public API").
SHIMS = ("model", "metrics")

SHIM_MARK = "relayout shim"
# never rewritten: this script, its test, and the test that the public import paths work
SELF = ("scripts/relayout.py", "tests/test_relayout.py", "tests/test_public_api.py")
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".txt", ".j2",
                 ".html", ".sh", ".rst", ".json"}
TEXT_NAMES = {"Makefile"}


class RelayoutError(Exception):
    pass


def git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if out.returncode != 0:
        raise RelayoutError(f"git {' '.join(args)}: {out.stderr.strip() or out.stdout.strip()}")
    return out.stdout


def is_shim(path: Path) -> bool:
    return path.is_file() and SHIM_MARK in path.read_text(encoding="utf-8")[:400]


def flat_modules(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / PKG).glob("*.py"))


def plan(root: Path, mapping: dict[str, str]) -> tuple[dict[str, str], list[str], list[str]]:
    """(moves pending, unknown flat modules, problems)."""
    moves, unknown, problems = {}, [], []
    for name in flat_modules(root):
        src = root / PKG / f"{name}.py"
        if name in mapping:
            if is_shim(src):
                continue
            dst = root / PKG / f"{mapping[name]}.py"
            if dst.exists():
                problems.append(f"{PKG}/{name}.py and {PKG}/{mapping[name]}.py both exist")
            else:
                moves[name] = mapping[name]
        elif name not in STAY:
            unknown.append(name)
    return moves, unknown, problems


def tracked_text_files(root: Path) -> list[Path]:
    files = []
    for rel in git(root, "ls-files", "-z").split("\0"):
        if not rel or rel in SELF:
            continue
        p = root / rel
        if p.is_file() and (p.suffix in TEXT_SUFFIXES or p.name in TEXT_NAMES):
            files.append(p)
    return files


# -- step 1: relative imports -> absolute ------------------------------------------------------

_REL = re.compile(r"^(?P<ind>[ \t]*)from[ \t]+(?P<dots>\.+)(?P<mod>[\w.]*)[ \t]+import\b", re.M)


def absolutize(text: str, package: str) -> str:
    def repl(m: re.Match) -> str:
        parts = package.split(".")
        up = len(m["dots"]) - 1
        if up >= len(parts):
            raise RelayoutError(f"relative import beyond {PKG}: {m.group(0).strip()}")
        base = ".".join(parts[: len(parts) - up])
        target = f"{base}.{m['mod']}" if m["mod"] else base
        return f"{m['ind']}from {target} import"

    return _REL.sub(repl, text)


# -- step 3: rewriting references ----------------------------------------------------------------


def dotted(new: str) -> str:
    return f"{PKG}.{new.replace('/', '.')}"


def build_rewriter(moves: dict[str, str], mapping: dict[str, str], keep_dotted=()):
    """A function text -> text that rewrites every reference to a moved module, in one pass
    (so nothing is rewritten twice). Dotted names in ``keep_dotted`` are left alone (the
    public import paths in prose, served by the shims); their file paths are rewritten."""
    new_children: dict[str, set[str]] = {}
    for new in mapping.values():
        head, _, tail = new.partition("/")
        new_children.setdefault(head, set()).add(tail.split("/")[0])
    names = sorted(moves, key=len, reverse=True)
    alts = []
    for old in (n for n in names if n not in keep_dotted):
        guard = ""
        if old in new_children:  # sim.evidence (module) vs sim.evidence.registry (package)
            kids = "|".join(sorted(new_children[old], key=len, reverse=True))
            guard = rf"(?!\.(?:{kids})\b)"
        alts.append(rf"{re.escape(old)}(?!\w){guard}")
    dot_re = re.compile(rf"(?<![\w.]){PKG}\.({'|'.join(alts)})" if alts else r"(?!x)x")
    path_re = re.compile(rf"(?<![\w./-]){PKG}/({'|'.join(map(re.escape, names))})\.py\b")
    from_re = re.compile(
        rf"^(?P<ind>[ \t]*)from[ \t]+{PKG}[ \t]+import[ \t]+"
        rf"(?:\((?P<par>[^)]*)\)|(?P<one>[^\n#]*?))(?P<tail>[ \t]*(?:#[^\n]*)?)$", re.M)

    def from_sim(m: re.Match) -> str:
        body = m["par"] if m["par"] is not None else m["one"]
        items = [s.strip() for s in re.sub(r"#[^\n]*", "", body).replace("\n", " ").split(",")]
        items = [s for s in items if s]
        keep, lines = [], []
        for item in items:
            name, _, alias = (p.strip() for p in item.partition(" as "))
            if name in moves:
                new = dotted(moves[name])
                parent, _, leaf = new.rpartition(".")
                local = alias or name
                suffix = f" as {local}" if local != leaf else ""
                lines.append(f"{m['ind']}from {parent} import {leaf}{suffix}")
            else:
                keep.append(item)
        if not lines:
            return m.group(0)
        if keep:
            lines.insert(0, f"{m['ind']}from {PKG} import {', '.join(keep)}")
        lines[-1] += m["tail"] or ""
        return "\n".join(lines)

    def rewrite(text: str) -> str:
        # dotted names first: the `from sim import x` rewrite below writes new dotted names
        # (from sim.evidence import registry as evidence) that must not be rewritten again
        text = dot_re.sub(lambda m: dotted(moves[m.group(1)]), text)
        text = from_re.sub(from_sim, text)
        return path_re.sub(lambda m: f"{PKG}/{moves[m.group(1)]}.py", text)

    return rewrite


# -- step 4: __file__ depth ------------------------------------------------------------------------

_FILE_PARENT = re.compile(r"Path\(__file__\)(\.resolve\(\))?\.parent\b")
_FILE_WITH_NAME = re.compile(r"Path\(__file__\)(\.resolve\(\))?\.with_name\(")
_FILE_PARENTS = re.compile(r"Path\(__file__\)(\.resolve\(\))?\.parents\[\d+\]")


def deepen(text: str, extra: int) -> str:
    if extra <= 0:
        return text
    text = _FILE_PARENT.sub(lambda m: m.group(0) + ".parent" * extra, text)
    return _FILE_WITH_NAME.sub(
        lambda m: f"Path(__file__){m.group(1) or ''}.parents[{extra}].joinpath(", text)


# -- step 4b: lines the rewrite made too long -----------------------------------------------------


def line_limit(root: Path) -> int:
    try:
        with open(root / "pyproject.toml", "rb") as f:
            return int(tomllib.load(f)["tool"]["ruff"]["line-length"])
    except (OSError, KeyError, ValueError, tomllib.TOMLDecodeError):
        return 100


def _split(line: str, limit: int, lead: str) -> list[str]:
    """Break ``line`` at spaces so each piece fits; continuation lines start with ``lead``."""
    out = []
    while len(line) > limit:
        cut = line.rfind(" ", len(lead) + 1, limit + 1)
        if cut <= len(lead) or not line[:cut].strip().strip("#\"'"):
            break
        out.append(line[:cut].rstrip())
        line = lead + line[cut + 1:].lstrip()
    return [*out, line]


def fix_long_lines(text: str, before: str, limit: int) -> tuple[str, list[int]]:
    """Re-wrap Python lines the rewrite pushed over ``limit``: docstring lines and full-line
    comments are broken at a space, a trailing comment moves above its code, other code gets
    ``# noqa: E501``; anything else (a line inside a non-doc string) is returned as a line
    number to fix by hand."""
    old = set(before.splitlines())
    lines = text.splitlines()
    long = [i for i, ln in enumerate(lines) if len(ln) > limit and ln not in old]
    if not long:
        return text, []
    try:
        tree = ast.parse(text)
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (SyntaxError, tokenize.TokenError):
        return text, [i + 1 for i in long]
    doc = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            doc.update(range(node.lineno - 1, node.end_lineno))
    comment = {}
    for t in toks:
        if t.type == tokenize.COMMENT:
            comment[t.start[0] - 1] = t.start[1]
    manual, out = [], []
    for i, ln in enumerate(lines):
        if i not in long:
            out.append(ln)
            continue
        ind = ln[: len(ln) - len(ln.lstrip())]
        if i in doc:
            out.extend(_split(ln, limit, ind))
        elif i in comment and not ln[: comment[i]].strip():
            out.extend(_split(ln, limit, ind + "# "))
        elif i in comment and len(ln[: comment[i]].rstrip()) <= limit:
            # a trailing comment moves to its own line(s) above the code
            out.extend(_split(ind + ln[comment[i]:], limit, ind + "# "))
            out.append(ln[: comment[i]].rstrip())
        elif i not in comment and not _multiline_string_at(toks, i):
            out.append(ln + "  # noqa: E501")
        else:
            out.append(ln)
            manual.append(i + 1)
        if len(out[-1]) > limit and "noqa" not in out[-1] and i + 1 not in manual:
            manual.append(i + 1)
    return "\n".join(out) + ("\n" if text.endswith("\n") else ""), manual


_FSTRING = {getattr(tokenize, n) for n in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
            if hasattr(tokenize, n)}


def _multiline_string_at(toks, i: int) -> bool:
    """Is line ``i`` (0-based) inside or at the end of a string token spanning lines (so a
    trailing comment would land inside the string)?"""
    return any(t.start[0] - 1 < i <= t.end[0] - 1 for t in toks
               if t.type == tokenize.STRING or t.type in _FSTRING)


# -- step 5: shims ---------------------------------------------------------------------------------


def public_names(source: str) -> list[str]:
    tree = ast.parse(source)
    for node in tree.body:  # an explicit __all__ wins
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return sorted(ast.literal_eval(node.value))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return sorted(n for n in names if not n.startswith("_"))


def shim_text(old: str, new: str, names: list[str]) -> str:
    target = dotted(new)
    body = "".join(f"    {n},\n" for n in names)
    alls = "".join(f'    "{n}",\n' for n in names)
    return (f'"""``{PKG}.{old}``: a stable import path; the code lives in :mod:`{target}`.\n\n'
            f"Written by scripts/relayout.py ({SHIM_MARK}); users' scripts keep importing\n"
            f'``from {PKG}.{old} import ...``. New code imports from {target}.\n"""\n\n'
            f"from {target} import (  # noqa: F401\n{body})\n\n__all__ = [\n{alls}]\n")


# -- driver ----------------------------------------------------------------------------------------


def apply(root: Path, mapping: dict[str, str], *, ruff: bool = True) -> list[str]:
    """Apply the layout; returns the log lines. Raises RelayoutError before changing anything
    if the tree is not a git checkout or a move would overwrite a file."""
    git(root, "rev-parse", "--git-dir")
    moves, unknown, problems = plan(root, mapping)
    if problems:
        raise RelayoutError("; ".join(problems))
    dirty = git(root, "status", "--porcelain", "--untracked-files=no").strip()
    if moves and dirty:
        raise RelayoutError(f"{root} has uncommitted changes ({dirty.splitlines()[0].strip()} "
                            "...): commit or stash them first, so the move is one reviewable "
                            "change and nothing of yours is rewritten unseen")
    log = [f"warning: {PKG}/{n}.py is not in MAPPING: left in place (add a line to place it)"
           for n in unknown]
    if not moves:
        return [*log, "nothing to move: the layout is already applied"]
    # 1. relative imports -> absolute, while every file is still where it was
    for path in sorted((root / PKG).rglob("*.py")):
        package = ".".join(path.relative_to(root).parts[:-1])  # the file's own package
        text = path.read_text(encoding="utf-8")
        new = absolutize(text, package)
        if new != text:
            path.write_text(new, encoding="utf-8")
            log.append(f"absolute imports: {path.relative_to(root)}")
    # 2. packages and moves
    for pkg in sorted({new.split("/")[0] for new in moves.values()}):
        init = root / PKG / pkg / "__init__.py"
        if not init.exists():
            init.parent.mkdir(parents=True, exist_ok=True)
            doc = PACKAGES.get(pkg, f"The {pkg} package.")
            init.write_text(f'"""{doc}"""\n', encoding="utf-8")
            git(root, "add", str(init.relative_to(root)))
            log.append(f"package: {PKG}/{pkg}/")
    for old, new in sorted(moves.items()):
        dst = root / PKG / f"{new}.py"
        dst.parent.mkdir(parents=True, exist_ok=True)
        git(root, "mv", f"{PKG}/{old}.py", f"{PKG}/{new}.py")
        log.append(f"moved: {PKG}/{old}.py -> {PKG}/{new}.py")
    # 3. references, 4. __file__ depth
    rewrite = build_rewriter(moves, mapping)
    rewrite_prose = build_rewriter(moves, mapping, keep_dotted=SHIMS)
    moved_to = {root / PKG / f"{new}.py": new.count("/") for new in moves.values()}
    changed_py, limit = [], line_limit(root)
    for path in tracked_text_files(root):
        text = path.read_text(encoding="utf-8")
        new = (rewrite_prose if path.suffix in (".md", ".rst") else rewrite)(text)
        new = deepen(new, moved_to.get(path, 0))
        if path.suffix == ".py" and new != text:
            new, manual = fix_long_lines(new, text, limit)
            log.extend(f"warning: {path.relative_to(root)}:{n} is over {limit} characters after "
                       "the rewrite: re-wrap it by hand" for n in manual)
        if new != text:
            path.write_text(new, encoding="utf-8")
            if path.suffix == ".py":
                changed_py.append(path)
    log.append(f"rewritten references in {len(changed_py)} Python files and others")
    for path, extra in moved_to.items():
        if extra and "__file__" in (text := path.read_text(encoding="utf-8")):
            rest = _FILE_PARENTS.sub("", _FILE_PARENT.sub("", text))
            if "__file__" in rest:
                log.append(f"warning: {path.relative_to(root)} uses __file__ in a way not "
                           "adjusted for its new depth: check it")
    # 5. shims
    for old in SHIMS:
        if old in moves:
            new = moves[old]
            names = public_names((root / PKG / f"{new}.py").read_text(encoding="utf-8"))
            shim = root / PKG / f"{old}.py"
            shim.write_text(shim_text(old, new, names), encoding="utf-8")
            git(root, "add", str(shim.relative_to(root)))
            changed_py.append(shim)
            log.append(f"shim: {PKG}/{old}.py re-exports {len(names)} names from {dotted(new)}")
    # 6. import order
    if ruff and changed_py:
        res = subprocess.run([sys.executable, "-m", "ruff", "check", "--fix", "--quiet",
                              "--select", "I", *map(str, changed_py)], cwd=root,
                             capture_output=True, text=True)
        if res.returncode not in (0, 1):
            log.append(f"warning: ruff did not run ({res.stderr.strip()[:200]}): "
                       "run `ruff check --fix --select I .` yourself")
    return log


def parse_maps(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not re.fullmatch(r"\w+", old) or not re.fullmatch(r"\w+(/\w+)*", new):
            raise RelayoutError(f"--map {item!r}: expected name=package/name, e.g. "
                                "decomposition=stats/decomposition")
        out[old] = new
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=str(Path(__file__).resolve().parent.parent),
                    help="the repository (default: the one this script is in)")
    ap.add_argument("--check", action="store_true",
                    help="only report pending moves and unknown module names (exit 1 if any "
                         "are unknown)")
    ap.add_argument("--map", action="append", default=[], metavar="OLD=NEW",
                    help="place a module MAPPING does not know, e.g. foo=stats/foo")
    ap.add_argument("--no-ruff", action="store_true", help="do not sort imports with ruff")
    args = ap.parse_args(argv)
    root = Path(args.root).resolve()
    try:
        if not (root / PKG).is_dir():
            raise RelayoutError(f"{root} has no {PKG}/ directory")
        mapping = {**MAPPING, **parse_maps(args.map)}
        if args.check:
            moves, unknown, problems = plan(root, mapping)
            for old, new in sorted(moves.items()):
                print(f"would move: {PKG}/{old}.py -> {PKG}/{new}.py")
            for name in unknown:
                print(f"unknown: {PKG}/{name}.py (add it to MAPPING or STAY, or --map "
                      f"{name}=package/{name})")
            for p in problems:
                print(f"problem: {p}")
            if not (moves or unknown or problems):
                print("nothing to move: the layout is already applied")
            return 1 if unknown or problems else 0
        for line in apply(root, mapping, ruff=not args.no_ruff):
            print(line)
    except RelayoutError as e:
        print(f"relayout: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

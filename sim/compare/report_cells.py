"""The runs a report compares (:mod:`sim.compare.report`): loading the cells (manifest and
cell-level tables; a bad file is one line naming it) and choosing which runs are compared and
paired (:func:`select_runs`: same settings, a usual-care run of the same seed, no repeats)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.errors import ReportError, typed_line
from sim.results.parquet import read_parquet

REFERENCE = "usual_care"
# named design variants (sim.programme.variants): not a setting
VARIANT_KEYS = ("variant", "variants")
# Okabe-Ito: a colour-blind-safe qualitative palette


PERSPECTIVES = (("cost_programme", "Programme (NHS / commissioner)"),
                ("cost_employer", "Employer (sick pay, net productivity loss, recruitment)"),
                ("cost_exchequer", "Exchequer (benefits, lost tax)"),
                ("cost_individual", "Individual (lost income)"))


SUMMARY_COLUMNS = ("replicate", "dimension", "group", "metric", "value", "n")
ECONOMICS_COLUMNS = ("replicate", "dimension", "n", "returned", "weeks_in_work_disc",
                     *(col for col, _ in PERSPECTIVES))
CURVE_COLUMNS = ("replicate", "dimension", "group", "week", "returned", "n")


@dataclass
class Cell:
    """One run of one design: its manifest and cell-level tables."""

    path: Path
    manifest: dict
    summary: pd.DataFrame
    economics: pd.DataFrame
    rtw_curves: pd.DataFrame

    @property
    def config(self) -> dict:
        return self.manifest["config"]

    @property
    def design(self) -> str:
        return self.config["programme"]["name"]


# ---- loading ------------------------------------------------------------------------

RESULT_TABLES = ("group_summary.parquet", "economics.parquet", "rtw_curves.parquet")


def _results_dirs(path: Path) -> list[Path]:
    path = Path(path)
    if not path.exists():
        raise ReportError(f"{path}: no such file or directory")
    if (path / "manifest.json").is_file():
        return [path]
    if (path / "results" / "manifest.json").is_file():
        return [path / "results"]
    found = sorted(p.parent for p in path.glob("**/results/manifest.json")
                   if not any(part.startswith(".") for part in p.parts[len(path.parts):]))
    if not found:
        raise ReportError(f"{path}: no complete results (no results/manifest.json below it)")
    return found


def _one_line(err: BaseException) -> str:
    """``Type: message`` (:func:`sim.errors.typed_line`), cut at 300 characters: a parser's
    message about a bad file can be long."""
    return typed_line(err)[:300]


def _read_manifest(d: Path) -> dict:
    try:
        manifest = json.loads((d / "manifest.json").read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ReportError(f"{d / 'manifest.json'}: not a readable manifest "
                          f"({_one_line(err)})") from None
    return _check_manifest(d, manifest)


def _check_manifest(d: Path, manifest) -> dict:
    cfg = manifest.get("config") if isinstance(manifest, dict) else None
    programme = cfg.get("programme") if isinstance(cfg, dict) else None
    economics = cfg.get("economics") if isinstance(cfg, dict) else None
    wtp = economics.get("willingness_to_pay_per_week_in_work") if isinstance(
        economics, dict) else None
    if not (isinstance(programme, dict) and isinstance(programme.get("name"), str)
            and isinstance(wtp, int | float) and not isinstance(wtp, bool)):
        raise ReportError(f"{d / 'manifest.json'}: not a run manifest (no config with "
                          "programme.name and economics.willingness_to_pay_per_week_in_work)")
    if not (isinstance(cfg.get("seed"), int) and not isinstance(cfg.get("seed"), bool)):
        raise ReportError(f"{d / 'manifest.json'}: not a run manifest (config.seed is "
                          f"{cfg.get('seed')!r}, expected an integer)")
    return manifest


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return read_parquet(path)
    except Exception as err:  # noqa: BLE001 - pyarrow raises many kinds for a bad file
        raise ReportError(f"{path}: unreadable table ({_one_line(err)})") from None


_NO_CURVES: list = []


def _no_curves() -> pd.DataFrame:
    """``pd.DataFrame(columns=list(CURVE_COLUMNS))``, a copy of one made once (building it
    was a third of a sweep's index page's loading of its preloaded cells, issue 19)."""
    if not _NO_CURVES:
        _NO_CURVES.append(pd.DataFrame(columns=list(CURVE_COLUMNS)))
    return _NO_CURVES[0].copy()


def load_cells(paths, preloaded: dict | None = None, curves: bool = True) -> list[Cell]:
    """The complete cells found at or below ``paths`` (results dirs, run dirs or sweeps).

    A missing, corrupt or incomplete file is a ReportError naming it (one line).
    ``preloaded``: ``{resolved results dir: (manifest, group_summary, economics)}`` that the
    caller already read (a sweep's aggregate), taken instead of reading them again (and
    checked the same way). ``curves=False``: ``rtw_curves`` is left out (an empty table with
    its columns): a sweep's index page does not use it."""
    cells = []
    seen = set()
    tables = RESULT_TABLES if curves else RESULT_TABLES[:2]
    for given in paths:
        for d in _results_dirs(Path(given)):
            if d.resolve() in seen:
                continue  # the same results given twice (a folder and a run inside it)
            seen.add(d.resolve())
            known = (preloaded or {}).get(d.resolve())
            manifest = _check_manifest(d, known[0]) if known else _read_manifest(d)
            missing = [f for f in tables if not (d / f).is_file()]
            if missing:
                raise ReportError(f"{d}: incomplete results, missing {', '.join(missing)}")
            summary, economics = known[1:] if known else (
                _read_table(d / f) for f in RESULT_TABLES[:2])
            curve = _read_table(d / RESULT_TABLES[2]) if curves else _no_curves()
            cell = Cell(d, manifest, summary, economics, curve)
            for name, table, cols in (
                    ("group_summary", cell.summary, SUMMARY_COLUMNS),
                    ("economics", cell.economics, ECONOMICS_COLUMNS),
                    ("rtw_curves", cell.rtw_curves, CURVE_COLUMNS)):
                lacking = [c for c in cols if c not in table.columns]
                if lacking:
                    raise ReportError(f"{d / (name + '.parquet')}: not a results table "
                                      f"(no column {lacking[0]!r})")
            cells.append(cell)
    if not cells:
        raise ReportError("no results given")
    return cells


# ---- which runs are compared ----------------------------------------------------------


def _flat(node, prefix: str = "") -> dict[str, str]:
    """A nested config as {"a.b.c": json text of the value}."""
    out = {}
    if isinstance(node, dict) and node:
        for k, v in node.items():
            out.update(_flat(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = json.dumps(node, sort_keys=True, default=str)
    return out


def _show(value: str | None) -> str:
    """A flattened config value for a label: plain text, at most 40 characters."""
    if value is None:
        return "unset"
    try:
        v = json.loads(value)
    except ValueError:
        v = value
    text = v if isinstance(v, str) else json.dumps(v, default=str)
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


def _differences(a: dict[str, str], b: dict[str, str], limit: int = 3) -> list[str]:
    """Keys where flattened configs ``a`` (this run) and ``b`` (the compared runs) differ."""
    first = ("population.name", "horizon_weeks", "replicates", "population.n", "engine")
    keys = sorted((k for k in set(a) | set(b) if a.get(k) != b.get(k)),
                  key=lambda k: (first.index(k) if k in first else len(first), k))
    out = [f"{k} {_show(a.get(k))} (compared runs: {_show(b.get(k))})" for k in keys[:limit]]
    if len(keys) > limit:
        out.append(f"and {len(keys) - limit} more setting(s)")
    return out


def _group_config(cell: Cell) -> dict:
    """What must match for runs to be compared: all but the programme, evidence values
    (they only change the programme's effects and costs), output settings and the seed
    (runs with other seeds are further independent replicates, paired within a seed)."""
    return {k: v for k, v in cell.config.items()
            if k not in ("programme", "output", "evidence_values", "seed", *VARIANT_KEYS)}


def _variant_config(cell: Cell) -> dict:
    return {"programme": cell.config["programme"],
            "evidence_values": cell.config.get("evidence_values") or {}}


@dataclass
class Arm:
    """One row of the comparison: a design (and variant) with its runs, one per seed."""

    design: str  # programme.name
    variant: str  # "" or the settings that tell it from other runs of the same design
    cells: dict  # seed -> Cell

    @property
    def key(self) -> str:
        return f"{self.design} [{self.variant}]" if self.variant else self.design


@dataclass
class Selection:
    arms: list  # Arm, the reference (usual care) first
    left_out: list  # {"path", "design", "reason"}
    total: int  # runs given


def select_runs(cells: list[Cell]) -> Selection:
    """Which of ``cells`` are compared, how they are paired, and why any are left out.

    * Runs that match in everything but the programme, evidence values, output settings
      and seed form a comparison set; the report uses the largest set that has a
      ``usual_care`` run (the first given, on a tie). Runs outside it are left out, each
      with the settings that differ.
    * Within the set, runs of one design whose programme or evidence values differ are
      separate rows ("variants"), labelled with the settings that differ.
    * Runs of a row with different seeds are pooled as further independent replicates:
      each is paired with the usual-care run of the same seed (common random numbers hold
      within a seed only). A run whose seed has no usual-care run is left out, as is a
      repeat of a run (same configuration and seed, so the same results).
    * With several usual-care variants, the one with the most seeds (the first given, on a
      tie) is the reference; the others are rows compared with it.
    """
    sets: dict[str, list[Cell]] = {}
    for c in cells:
        sets.setdefault(json.dumps(_group_config(c), sort_keys=True, default=str),
                        []).append(c)
    candidates = [s for s in sets.values() if any(c.design == REFERENCE for c in s)]
    if not candidates:
        designs = sorted({c.design for c in cells})
        raise ReportError(f"no usual_care run to compare with (runs given: "
                          f"{', '.join(designs)}): include programme=usual_care with the same "
                          "population, replicates and horizon")
    chosen = max(candidates, key=len)
    chosen_flat = None
    left_out = []
    for s in sets.values():
        if s is chosen:
            continue
        if chosen_flat is None:  # only for runs left out (issue 19: a sweep has none)
            chosen_flat = _flat(_group_config(chosen[0]))
        why = _differences(_flat(_group_config(s[0])), chosen_flat)
        alone = ("; no usual_care run has its settings" if not any(
            c.design == REFERENCE for c in s) else "")
        for c in s:
            left_out.append({"path": str(c.path), "design": c.design,
                             "reason": "differs from the compared runs in "
                                       + "; ".join(why) + alone
                                       + ": compare these in a separate report"})
    # rows: design x variant; the runs of a row, one per seed
    by_design: dict[str, dict[str, list[Cell]]] = {}
    for c in chosen:
        vkey = json.dumps(_variant_config(c), sort_keys=True, default=str)
        by_design.setdefault(c.design, {}).setdefault(vkey, []).append(c)
    arms: list[Arm] = []
    for design, variants in by_design.items():
        # one variant differs in nothing: its configs are not flattened (issue 19)
        flats = ({v: _flat(_variant_config(cs[0])) for v, cs in variants.items()}
                 if len(variants) > 1 else {})
        differing = sorted(k for k in set().union(*flats.values())
                           if len({f.get(k) for f in flats.values()}) > 1
                           and k not in ("programme.name",))
        for vkey, cs in variants.items():
            named = cs[0].config["programme"].get("variant")  # a named variant's label
            label = named or ", ".join(f"{k.removeprefix('programme.')}={_show(flats[vkey].get(k))}"
                              for k in differing[:3])
            if len(differing) > 3 and not named:
                label += f", +{len(differing) - 3} more settings"
            arm = Arm(design, label, {})
            for c in cs:
                seed = c.config.get("seed")
                if seed in arm.cells:
                    why = (f"variant {c.config.get('variant')} does not change this design"
                           if c.config.get("variant") != arm.cells[seed].config.get("variant")
                           else "same configuration and seed")
                    left_out.append({"path": str(c.path), "design": c.design,
                                     "reason": f"repeat of {arm.cells[seed].path} ({why}, "
                                               "so the same results)"})
                else:
                    arm.cells[seed] = c
            arms.append(arm)
    refs = [a for a in arms if a.design == REFERENCE]
    ref = max(refs, key=lambda a: len(a.cells))
    kept = [ref]
    for arm in arms:
        if arm is ref:
            continue
        for seed in [s for s in arm.cells if s not in ref.cells]:
            c = arm.cells.pop(seed)
            left_out.append({"path": str(c.path), "design": c.design,
                             "reason": f"no usual_care run with seed {seed} to pair it with "
                                       f"(usual care was run with seed(s) "
                                       f"{', '.join(map(str, sorted(ref.cells)))})"})
        if arm.cells:
            kept.append(arm)
    seen: dict[str, int] = {}
    for a in kept:  # labels shortened to the same text: number them, never merge rows
        seen[a.key] = seen.get(a.key, 0) + 1
        if seen[a.key] > 1:
            a.variant = f"{a.variant or 'variant'} #{seen[a.key]}"
    return Selection(kept, left_out, len(cells))

"""Compare programme designs with usual care and write the decision report (``make compare``).

The logic of ``experiments/compare_designs.py`` (a Hydra app on
``configs/analysis/compare.yaml``): every design runs on the same population (same seed
and replicates, so every comparison is paired person by person) in this process, each run's
results are written atomically (:func:`sim.results.output.write_results`), and the HTML
report is built last (:mod:`sim.compare.report`). Unless ``psa`` names a finished PSA run
or ``psa_draws: 0`` turns it off, a small probabilistic sensitivity analysis of the same
designs runs first (``experiments/psa.py`` in a child process), so the report's "how sure"
line reflects evidence uncertainty, not only simulation noise.

    c = check_settings(settings)      # one-line ValueError; nothing written yet
    configs = model_configs(c)        # every design's model config, checked before any run
    report = run_compare(c, configs)  # -> <out>/report/report.html
"""

from __future__ import annotations

import difflib
import logging
import subprocess
import sys
import time
from pathlib import Path

from sim.compare.report import load_psa, write_report
from sim.config import CONFIG_DIR, ConfigError, load_config
from sim.errors import ReportError, one_line
from sim.programme.catalogue import TAGGED, design_list
from sim.results.output import write_results
from sim.simulate import simulate

REPO = CONFIG_DIR.parent
log = logging.getLogger("compare")


def _choices(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def _positive(c: dict, key: str, least: int = 1) -> None:
    v = c[key]
    if isinstance(v, bool) or not isinstance(v, int) or v < least:
        raise ValueError(f"{key}: got {v!r}, expected an integer >= {least}")


def check_settings(c: dict) -> dict:
    """The compare settings (plain dict of ``configs/analysis/compare.yaml``), checked:
    one-line ValueError before anything is written. ``designs`` becomes the list to run,
    usual care first, each once, in the order given."""
    known, raw = _choices("programme"), c["designs"]
    if isinstance(raw, str) and not TAGGED.fullmatch(raw.strip()):
        names = raw.split(",")  # one name, or names with commas: 'designs="a,b"'
    else:
        names = design_list(raw)
        if isinstance(raw, str):  # tagged(compare): usual care leads
            names = ["usual_care", *(d for d in names if d != "usual_care")]
    names = [str(d).strip() for d in names if str(d).strip()]
    if not names:
        raise ValueError(f"designs {c['designs']!r}: no design given; choose one or more of: "
                         f"{', '.join(known)}")
    for d in names:
        if d not in known:
            close = difflib.get_close_matches(d, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"designs: unknown design {d!r}{hint}; choose from: "
                             f"{', '.join(known)}")
    if c["population"] not in _choices("population"):
        raise ValueError(f"population: unknown population {c['population']!r}; choose from: "
                         f"{', '.join(_choices('population'))}")
    for key in ("n", "replicates"):
        _positive(c, key)
    if c["psa_draws"] == 1 or not isinstance(c["psa_draws"], int) or c["psa_draws"] < 0:
        raise ValueError(f"psa_draws: got {c['psa_draws']!r}, expected 0 (no PSA) or at "
                         "least 2")
    _positive(c, "psa_n", 100)
    extra = c.get("model_overrides") or []
    if not isinstance(extra, list) or not all(isinstance(o, str) for o in extra):
        raise ValueError(f"model_overrides: got {extra!r}, expected a list of key=value strings")
    out = Path(c["out"])
    if not out.is_absolute():
        out = REPO / out
    if out.is_symlink() or (out.exists() and (not out.is_dir() or any(out.iterdir()))):
        raise ValueError(f"out {out}: exists and is not an empty folder; nothing is "
                         "overwritten: give a new or empty folder")
    designs = list(dict.fromkeys(names))
    if "usual_care" not in designs:
        designs.insert(0, "usual_care")
    return {**c, "designs": designs, "model_overrides": list(extra), "out": out}


def _unknown_key_hint(override: str, design: str) -> str:
    """For ``a.b.c=v`` whose key is not in ``design``'s config: where the key path stops
    and what is there (with the closest name)."""
    if "=" not in override or override.startswith(("+", "~")):
        return ""
    key = override.split("=", 1)[0]
    node, path = load_config([f"programme={design}"]), []
    for part in key.split("."):
        if not isinstance(node, dict):
            return ""
        if part not in node:
            here = ".".join(path) or "the top level"
            close = difflib.get_close_matches(part, list(node), n=1)
            hint = f"; did you mean {'.'.join([*path, close[0]])}?" if close else ""
            have = ", ".join(sorted(map(str, node))) or "nothing"
            return f"{here} has no key {part!r} (it has: {have}){hint}"
        node, path = node[part], [*path, part]
    return ""


def model_configs(c: dict) -> dict[str, dict]:
    """Every design's model config (and the reused PSA run) checked before any work:
    one-line ValueError naming the design, and for a key that does not exist where its
    path stops and the closest name."""
    base = [f"population={c['population']}", f"population.n={c['n']}",
            f"replicates={c['replicates']}", "output.plots=false",
            "output.write_agents=false", *c["model_overrides"]]
    if c["psa"]:
        load_psa(c["psa"])  # ReportError (one line) for a folder that is not a PSA run
    configs, design = {}, None
    try:
        for design in c["designs"]:
            configs[design] = load_config([f"programme={design}", *base])
    except (ConfigError, ReportError):
        raise
    except Exception as err:  # noqa: BLE001 - Hydra: a key that does not exist, bad syntax
        for ov in c["model_overrides"]:
            try:
                hint = _unknown_key_hint(ov, design)
            except Exception:  # noqa: BLE001 - no hint then: Hydra's own message
                hint = ""
            if hint:
                raise ValueError(f"override {ov} (design {design}): {hint}") from None
        raise ValueError(f"{one_line(err)} (design {design})") from None
    return configs


def run_compare(c: dict, configs: dict[str, dict]) -> Path:
    """Run every design, write its results under ``<out>/cells/<design>/results``, the PSA
    (unless reused or off) and the report; returns the report's path."""
    out, start = c["out"], time.perf_counter()
    for k, (design, cfg) in enumerate(configs.items(), start=1):
        t = time.perf_counter()
        write_results(simulate(cfg), out / "cells" / design / "results")
        log.info("[%d/%d] %s done in %.1f s", k, len(configs), design, time.perf_counter() - t)
    psa_dir = c["psa"]
    if psa_dir is None and c["psa_draws"] and len(c["designs"]) > 1:
        psa_dir = run_psa(out / "psa", c)
    report = write_report([out / "cells"], out / "report", psa_dir, if_exists="refuse")
    log.info("report: %s (%.0f s in all)", report, time.perf_counter() - start)
    return report


def psa_command(folder: Path, c: dict) -> list[str]:
    """The command line of the small PSA of the compared designs (``experiments/psa.py``)."""
    others = [d for d in c["designs"] if d != "usual_care"]
    cmd = [sys.executable, str(REPO / "experiments" / "psa.py"), f"draws={c['psa_draws']}",
           f"designs=[{','.join(others)}]", f"population={c['population']}",
           f"n={c['psa_n']}", "replicates=2", f"out={folder}"]
    if c["model_overrides"]:
        cmd.append("model_overrides=[" + ",".join(f"'{o}'" for o in c["model_overrides"])
                   + "]")
    return cmd


def run_psa(folder: Path, c: dict) -> Path | None:
    """A small PSA of the designs in a child process into ``folder``; None (and one line
    saying so) if it fails, so the report still builds."""
    t = time.perf_counter()
    log.info("PSA: %d evidence draws x %d designs (%s people x 2 replicates) for the 'how "
             "sure' line ...", c["psa_draws"], len(c["designs"]), f"{c['psa_n']:,}")
    done = subprocess.run(psa_command(folder, c), cwd=REPO)  # its progress shows as it comes
    if done.returncode != 0 or not (folder / "summary.csv").is_file():
        log.info("PSA failed (exit status %d); the report shows replicate noise only",
                 done.returncode)
        return None
    log.info("PSA done in %.0f s -> %s", time.perf_counter() - t, folder)
    return folder

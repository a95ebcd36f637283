"""Probabilistic sensitivity analysis with value of information (the logic of
``experiments/psa.py``).

:func:`check_settings` checks the analysis config (configs/analysis/psa.yaml);
:func:`run_psa` draws the evidence (:func:`sim.uncertainty.psa.draw_evidence`), clamps draws
no hazard ratio reproduces, runs every design on every draw with common random numbers and
summarises (:func:`summarise`: intervals, probability best, probability of narrowing the IMD
gradient; CEAC; EVPI and EVPPI); :func:`write_psa` writes the tables, the CEAC figure and
summary.md. Progress goes through logging and tqdm.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from tqdm import tqdm

from sim.config import CONFIG_DIR
from sim.evidence.registry import load_registry
from sim.io import write_tables
from sim.programme.catalogue import design_list
from sim.programme.effects import evidence_ids
from sim.results.figures import pyplot, save
from sim.uncertainty.factors import Factor, evaluate, feasible_evidence, parse_factors
from sim.uncertainty.psa import ceac, draw_evidence, evpi, evppi, net_benefit

log = logging.getLogger(__name__)
WIDE = ("rtw_52w", "sii", "weeks_in_work", "cost_programme", "net_benefit", "nhb_qaly")
SUMMARISED = ("rtw_52w", "sii", "cost_programme", "net_benefit", "nhb_qaly")
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")


ASSUMPTION_FACTORS = "usual_care"  # configs/analysis/factors/<this>.yaml: the assumptions


def assumption_factors(names) -> list[Factor]:
    """The named factors of ``configs/analysis/factors/usual_care.yaml`` (flagged
    assumptions of the usual-care model, e.g. ``ethnicity_onset_hr``): the PSA draws each
    uniformly over its range, independently of the evidence draws."""
    if not names:
        return []
    path = CONFIG_DIR / "analysis" / "factors" / f"{ASSUMPTION_FACTORS}.yaml"
    spec = yaml.safe_load(path.read_text())
    unknown = [n for n in names if n not in spec]
    if unknown:
        raise ValueError(f"assumptions: unknown factor {unknown[0]!r}, expected names from "
                         f"configs/analysis/factors/{ASSUMPTION_FACTORS}.yaml: "
                         f"{', '.join(spec)}")
    return parse_factors({n: spec[n] for n in names})


def draw_assumptions(factors: list[Factor], n_draws: int, seed: int) -> pd.DataFrame:
    """Uniform draws over each factor's range, each from a stream keyed by its name (the
    evidence draws, and the other assumptions' draws, are unchanged by adding or removing
    an assumption)."""
    import zlib

    out = {}
    for f in factors:
        u = np.random.default_rng([int(seed), 1, zlib.crc32(f.name.encode())]).random(n_draws)
        out[f.name] = f.low + u * (f.high - f.low)
    return pd.DataFrame(out)


def check_settings(c: dict) -> dict:
    """The analysis config's own keys, checked (one-line ValueError); ``designs`` as a
    list (``tagged(psa)``: the designs tagged in their YAML, :mod:`sim.programme.catalogue`)."""
    if isinstance(c["draws"], bool) or not isinstance(c["draws"], int) or c["draws"] < 2:
        raise ValueError(f"draws: got {c['draws']!r}, expected an integer >= 2")
    names = c.get("assumptions") or []
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"assumptions: got {names!r}, expected a list of factor names")
    assumption_factors(list(names))  # unknown names fail here, before any run
    if c["wtp"] is not None and not (isinstance(c["wtp"], int | float) and c["wtp"] >= 0):
        raise ValueError(f"wtp: got {c['wtp']!r}, expected null or a number >= 0")
    return {**c, "designs": design_list(c["designs"])}


def clamp_infeasible(configs: dict[str, dict], draws: pd.DataFrame, ids: list[str]) -> list:
    """Clamp, in ``draws`` (in place), every drawn value no hazard ratio reproduces on a
    design's baseline; one record per clamp (draw, entry, drawn, used)."""
    clamped = []
    for k in tqdm(range(len(draws)), desc="feasibility", unit="draw", mininterval=2.0):
        values = {i: float(draws.at[k, i]) for i in ids}
        # A drawn effect no hazard ratio reproduces on this baseline (e.g. a risk ratio
        # whose target exceeds 100% RTW, or below what a time-limited service can reach) is
        # clamped at the feasible boundary (feasible_evidence: bisection from the registry
        # value) and recorded; every design then uses the clamped value.
        for design_cfg in configs.values():
            used = {i: v for i, v in values.items() if i in evidence_ids(design_cfg)}
            if not used:
                continue
            _, moves = feasible_evidence({**design_cfg, "evidence_values": used})
            for m in moves:
                values[m["entry"]] = draws.at[k, m["entry"]] = m["used"]
                clamped.append({"draw": k, "entry": m["entry"], "drawn": m["requested"],
                                "used": m["used"]})
    return clamped


def clamped_table(records: list) -> pd.DataFrame:
    """One row per clamped (draw, entry): the first value drawn and the last one used."""
    if not records:
        return pd.DataFrame(columns=["draw", "entry", "drawn", "used"])
    return (pd.DataFrame(records).groupby(["draw", "entry"], as_index=False)
            .agg(drawn=("drawn", "first"), used=("used", "last")))


def summarise(res: pd.DataFrame, designs: list[str], k_qaly: float) -> pd.DataFrame:
    """Per design: mean of each outcome, its mean change vs usual care with a 2.5-97.5
    percentile interval over draws, the probability of being best (net benefit, RTW, net
    health benefit) and of narrowing the IMD gradient (lower SII than usual care)."""
    wide = {m: res.pivot(index="draw", columns="design", values=m)[designs] for m in WIDE}
    best = {key: wide[m].to_numpy().argmax(axis=1) for key, m in (
        ("p_best_net_benefit", "net_benefit"), ("p_best_rtw", "rtw_52w"),
        ("p_best_nhb_qaly", "nhb_qaly"))}
    rows = []
    for j, d in enumerate(designs):
        row = {"design": d}
        for m in SUMMARISED:
            v = wide[m][d]
            dv = v - wide[m]["usual_care"]
            row[f"{m}"] = v.mean()
            row[f"{m}_vs_uc"] = dv.mean()
            row[f"{m}_vs_uc_low"], row[f"{m}_vs_uc_high"] = np.percentile(dv, [2.5, 97.5])
        for key, b in best.items():
            row[key] = float(np.mean(b == j))
        row["qaly_threshold"] = k_qaly
        row["p_narrows_imd_gradient"] = float(np.mean(wide["sii"][d] < wide["sii"]["usual_care"]))
        rows.append(row)
    return pd.DataFrame(rows)


def value_of_information(nb: np.ndarray, draws: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """EVPI over all entries and EVPPI per entry (GBP per person), largest first."""
    voi = [{"parameters": "all (EVPI)", "value_per_person": evpi(nb)}]
    voi += [{"parameters": i, "value_per_person": evppi(nb, draws[i].to_numpy())} for i in ids]
    return pd.DataFrame(voi).sort_values("value_per_person", ascending=False)


def run_psa(c: dict, configs: dict[str, dict]) -> dict:
    """Draws, model runs and summaries for the checked config ``c`` over ``configs``
    ({design: model config}, usual care first)."""
    designs = list(configs)
    registry = load_registry()
    ids = sorted({i for cfg in configs.values() for i in evidence_ids(cfg)
                  if registry[i].distribution is not None
                  and registry[i].distribution["type"] != "fixed"})
    draws = draw_evidence([registry[i] for i in ids], c["draws"], c["seed"], c["rho"])
    economics = configs["usual_care"]["economics"]
    wtp = c["wtp"] if c["wtp"] is not None else economics["willingness_to_pay_per_week_in_work"]
    start = time.perf_counter()
    log.info("PSA: %d draws of %d evidence entries x %d designs, %d workers", c["draws"],
             len(ids), len(designs), c["n_jobs"])
    infeasible = clamped_table(clamp_infeasible(configs, draws, ids))
    factors = [Factor(i, "evidence", float(draws[i].min()), float(draws[i].max()),
                      float(registry[i].value), id=i) for i in ids]
    extra = assumption_factors(list(c.get("assumptions") or []))
    if extra:  # flagged assumptions of usual care, drawn uniformly over their ranges
        assumed = draw_assumptions(extra, c["draws"], c["seed"])
        draws = pd.concat([draws.reset_index(drop=True), assumed], axis=1)
        factors += extra
        ids = ids + [f.name for f in extra]
    res = evaluate(configs, factors, draws[ids].to_numpy(), n_jobs=c["n_jobs"],
                   desc="PSA runs").rename(columns={"sample": "draw"})
    res["net_benefit"] = net_benefit(res["weeks_in_work"], res["cost_programme"], wtp)
    # NICE reference case: net health benefit (QALYs) at the lowest QALY threshold
    k_qaly = min(float(x) for x in economics["qaly_thresholds"])
    res["nhb_qaly"] = res["qaly"] - res["cost_nhs_pss"] / k_qaly
    wide = {m: res.pivot(index="draw", columns="design", values=m)[designs]
            for m in ("weeks_in_work", "cost_programme", "net_benefit")}
    curve = ceac(wide["weeks_in_work"], wide["cost_programme"], np.linspace(0, 4 * wtp, 41))
    return {"designs": designs, "draws": draws, "infeasible": infeasible, "results": res,
            "summary": summarise(res, designs, k_qaly), "ceac": curve, "wtp": wtp,
            "voi": value_of_information(wide["net_benefit"].to_numpy(), draws, ids),
            "elapsed": time.perf_counter() - start}


def write_psa(folder: Path, c: dict, r: dict) -> None:
    """The tables, the CEAC figure and summary.md of :func:`run_psa`'s result."""
    write_tables(folder, {"draws": r["draws"], "clamped_draws": r["infeasible"],
                          "results": r["results"], "summary": r["summary"],
                          "ceac": r["ceac"], "voi": r["voi"]})
    ceac_plot(folder / "ceac.png", r["ceac"], r["designs"], r["wtp"], c["draws"])
    (folder / "summary.md").write_text(summary_md(c, r))


def ceac_plot(path: Path, curve: pd.DataFrame, designs: list[str], wtp: float,
              draws: int) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for j, d in enumerate(designs):
        cd = curve[curve["design"] == d]
        ax.plot(cd["wtp"], cd["probability"], color=COLOURS[j % len(COLOURS)], label=d)
    ax.axvline(wtp, color="grey", ls=":", lw=1)
    ax.set_xlabel("willingness to pay per discounted week in work (GBP)")
    ax.set_ylabel("probability the design has the highest net benefit")
    ax.set_ylim(0, 1)
    ax.set_title(f"Cost-effectiveness acceptability curves ({draws} PSA draws)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, path, tight=False, crop=True)


def summary_md(c: dict, r: dict) -> str:
    lines = [f"# PSA: {c['draws']} draws x {len(r['designs'])} designs, {c['population']}, "
             f"{c['n']:,} people x {c['replicates']} replicates, seed {c['seed']}, "
             f"rho {c['rho']}, "
             f"WTP {r['wtp']:,.0f} GBP per week in work", "",
             "Intervals are 2.5-97.5 percentiles over evidence draws (common random "
             "numbers within a draw). SII: slope index of inequality in RTW across IMD "
             "quintiles (negative change = narrower).",
             f"{r['infeasible']['draw'].nunique()} of {c['draws']} draws had a value that no "
             "hazard ratio reproduces on the model's baseline (e.g. a risk ratio whose "
             "target exceeds 100% RTW); it was clamped at the feasible boundary "
             "(clamped_draws.csv: drawn and used values), so the distribution is "
             "truncated there.", "",
             r["summary"].round(4).to_string(index=False), "",
             "## Value of information (GBP per person)", "",
             r["voi"].round(2).to_string(index=False), "", "![CEAC](ceac.png)", ""]
    return "\n".join(lines)

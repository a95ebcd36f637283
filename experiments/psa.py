"""Probabilistic sensitivity analysis with value of information (see :mod:`sim.psa`).

    python experiments/psa.py [--draws 40] [--n 5000] [--replicates 2] [--designs a,b,...]
        [--wtp 500] [--rho 0.8] [--seed 11] [--out DIR]

Draws every evidence entry the designs use (correlated within a shared source), runs every
design on each draw with common random numbers, and writes under ``outputs/psa/<time>/``:
``draws.csv`` (the evidence values), ``results.csv`` (draw x design outcomes),
``clamped_draws.csv`` (draws clamped to what the baseline can reproduce),
``summary.csv`` / ``summary.md`` (intervals, probability best, probability of narrowing
the IMD gradient vs usual care), ``ceac.csv`` / ``ceac.png``, ``voi.csv`` (EVPI, EVPPI per
entry). Written to a staging folder and renamed, so a killed run leaves nothing.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_DESIGNS = "usual_care,rtw_coordinator,multicomponent,culturally_adapted_mdt,wave_vsw"


def _outcomes(cfg):
    from sim.report import Cell, replicate_measures
    from sim.simulate import simulate

    r = simulate(cfg)
    m = replicate_measures(Cell(None, {"config": cfg}, r.summary, r.economics, r.rtw_curves))
    return {"rtw_52w": m["rtw_52w"].mean(), "sii": m["sii"].mean(),
            "weeks_in_work": m["weeks_in_work_disc"].mean(),
            "cost_programme": m["cost_programme_disc"].mean()}


def main(argv=None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    from sim.config import ConfigError, load_config, validate
    from sim.effects import evidence_ids
    from sim.evidence import load_registry
    from sim.psa import ceac, draw_evidence, evpi, evppi, net_benefit

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=40)
    ap.add_argument("--n", type=int, default=5000, help="people per replicate")
    ap.add_argument("--replicates", type=int, default=2)
    ap.add_argument("--designs", default=DEFAULT_DESIGNS)
    ap.add_argument("--wtp", type=float, default=None,
                    help="GBP per discounted week in work (default: the economics config)")
    ap.add_argument("--rho", type=float, default=0.8, help="correlation within a source")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    if "usual_care" not in designs:
        designs.insert(0, "usual_care")
    base = [f"population.n={args.n}", f"replicates={args.replicates}", "output.plots=false",
            "output.write_agents=false"]
    try:
        configs = {d: load_config([f"programme={d}", *base]) for d in designs}
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    registry = load_registry()
    ids = sorted({i for cfg in configs.values() for i in evidence_ids(cfg)
                  if registry[i].distribution is not None
                  and registry[i].distribution["type"] != "fixed"})
    try:
        draws = draw_evidence([registry[i] for i in ids], args.draws, args.seed, args.rho)
    except ValueError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    wtp = args.wtp if args.wtp is not None else configs["usual_care"]["economics"][
        "willingness_to_pay_per_week_in_work"]
    from sim.effects import EffectError
    from sim.model import RTWModel

    rows, infeasible = [], []
    start = time.perf_counter()

    def run_draw(k, values):
        out = []
        for d, cfg in configs.items():
            c = copy.deepcopy(cfg)
            c["evidence_values"] = {i: v for i, v in values.items() if i in evidence_ids(cfg)}
            out.append({"draw": k, "design": d, **_outcomes(validate(c))})
        return out

    def feasible(values) -> str | None:
        """The first evidence id whose drawn value no hazard ratio reproduces, else None."""
        for cfg in configs.values():
            c = copy.deepcopy(cfg)
            c["evidence_values"] = {i: v for i, v in values.items() if i in evidence_ids(cfg)}
            try:
                RTWModel(c)  # builds the population and converts the effects; no run
            except EffectError as err:
                return str(err).split("'")[1]
        return None

    for k in tqdm(range(args.draws), desc="PSA draws", unit="draw"):
        values = {i: float(draws.at[k, i]) for i in ids}
        while (bad := feasible(values)) is not None:
            # A drawn effect no hazard ratio reproduces on this baseline (e.g. a risk ratio
            # whose target exceeds 100% RTW, or below what a time-limited service can
            # reach): clamp it at the feasible boundary, found by bisection on the line
            # from the registry value to the draw (log scale for ratios), and record it.
            e, v = registry[bad], values[bad]
            v0 = float(e.value)
            ratio = v > 0 and v0 > 0

            def at(t, v=v, v0=v0, ratio=ratio):
                return (float(np.exp(np.log(v0) + t * (np.log(v) - np.log(v0)))) if ratio
                        else v0 + t * (v - v0))

            lo, hi = 0.0, 1.0
            for _ in range(8):  # boundary within 1/256 of the way
                mid = (lo + hi) / 2
                ok = feasible({**values, bad: at(mid)}) != bad
                lo, hi = (mid, hi) if ok else (lo, mid)
            values[bad] = at(lo)
            draws.at[k, bad] = values[bad]
            infeasible.append({"draw": k, "entry": bad, "drawn": v, "used": values[bad]})
        rows += run_draw(k, values)
    infeasible = (pd.DataFrame(infeasible).groupby(["draw", "entry"], as_index=False)
                  .agg(drawn=("drawn", "first"), used=("used", "last"))
                  if infeasible else pd.DataFrame(columns=["draw", "entry", "drawn", "used"]))
    res = pd.DataFrame(rows)
    res["net_benefit"] = net_benefit(res["weeks_in_work"], res["cost_programme"], wtp)
    wide = {m: res.pivot(index="draw", columns="design", values=m)[designs]
            for m in ("rtw_52w", "sii", "weeks_in_work", "cost_programme", "net_benefit")}
    best_nb = wide["net_benefit"].to_numpy().argmax(axis=1)
    best_rtw = wide["rtw_52w"].to_numpy().argmax(axis=1)
    summary = []
    for j, d in enumerate(designs):
        row = {"design": d}
        for m in ("rtw_52w", "sii", "cost_programme", "net_benefit"):
            v = wide[m][d]
            dv = v - wide[m]["usual_care"]
            row[f"{m}"] = v.mean()
            row[f"{m}_vs_uc"] = dv.mean()
            row[f"{m}_vs_uc_low"], row[f"{m}_vs_uc_high"] = np.percentile(dv, [2.5, 97.5])
        row["p_best_net_benefit"] = float(np.mean(best_nb == j))
        row["p_best_rtw"] = float(np.mean(best_rtw == j))
        row["p_narrows_imd_gradient"] = float(np.mean(wide["sii"][d] < wide["sii"]["usual_care"]))
        summary.append(row)
    summary = pd.DataFrame(summary)
    grid = np.linspace(0, 4 * wtp, 41)
    curve = ceac(wide["weeks_in_work"], wide["cost_programme"], grid)
    nb = wide["net_benefit"].to_numpy()
    voi = [{"parameters": "all (EVPI)", "value_per_person": evpi(nb)}]
    for i in ids:
        voi.append({"parameters": i, "value_per_person": evppi(nb, draws[i].to_numpy())})
    voi = pd.DataFrame(voi).sort_values("value_per_person", ascending=False)

    out = Path(args.out) if args.out else REPO / "outputs" / "psa" / time.strftime(
        "%Y-%m-%d_%H-%M-%S")
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    staging.mkdir(parents=True)
    try:
        draws.to_csv(staging / "draws.csv", index=False)
        infeasible.to_csv(staging / "clamped_draws.csv", index=False)
        res.to_csv(staging / "results.csv", index=False)
        summary.to_csv(staging / "summary.csv", index=False)
        curve.to_csv(staging / "ceac.csv", index=False)
        voi.to_csv(staging / "voi.csv", index=False)
        fig, ax = plt.subplots(figsize=(8, 5))
        colours = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
        for j, d in enumerate(designs):
            c = curve[curve["design"] == d]
            ax.plot(c["wtp"], c["probability"], color=colours[j % len(colours)], label=d)
        ax.axvline(wtp, color="grey", ls=":", lw=1)
        ax.set_xlabel("willingness to pay per discounted week in work (GBP)")
        ax.set_ylabel("probability the design has the highest net benefit")
        ax.set_ylim(0, 1)
        ax.set_title(f"Cost-effectiveness acceptability curves ({args.draws} PSA draws)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.savefig(staging / "ceac.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        lines = [f"# PSA: {args.draws} draws x {len(designs)} designs, {args.n:,} people x "
                 f"{args.replicates} replicates, seed {args.seed}, rho {args.rho}, "
                 f"WTP {wtp:,.0f} GBP per week in work", "",
                 "Intervals are 2.5-97.5 percentiles over evidence draws (common random "
                 "numbers within a draw). SII: slope index of inequality in RTW across IMD "
                 "quintiles (negative change = narrower).",
                 f"{infeasible['draw'].nunique()} of {args.draws} draws had a value that no "
                 "hazard ratio reproduces on the model's baseline (e.g. a risk ratio whose "
                 "target exceeds 100% RTW); it was clamped at the feasible boundary "
                 "(clamped_draws.csv: drawn and used values), so the distribution is "
                 "truncated there.", "",
                 summary.round(4).to_string(index=False), "",
                 "## Value of information (GBP per person)", "",
                 voi.round(2).to_string(index=False), "", "![CEAC](ceac.png)", ""]
        (staging / "summary.md").write_text("\n".join(lines))
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(f"PSA: {args.draws} draws ({infeasible['draw'].nunique()} clamped) x {len(designs)} "
          "designs in "
          f"{time.perf_counter() - start:.0f} s -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

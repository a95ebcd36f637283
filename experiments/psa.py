"""Probabilistic sensitivity analysis with value of information (see :mod:`sim.uncertainty.psa`).

    .venv/bin/python experiments/psa.py [key=value ...]     # config: configs/analysis/psa.yaml
    .venv/bin/python experiments/psa.py draws=200 'designs=[multicomponent,ips_smi]'

Draws every evidence entry the designs use (correlated within a shared source), runs every
design on each draw with common random numbers, and writes under ``out``:
``draws.csv`` (the evidence values), ``results.csv`` (draw x design outcomes),
``clamped_draws.csv`` (draws clamped to what the baseline can reproduce),
``summary.csv`` / ``summary.md`` (intervals, probability best on the commissioner's net
benefit, on RTW and on the NICE reference-case net health benefit in QALYs at the lowest
``economics.qaly_thresholds``, probability of narrowing the IMD gradient vs usual care),
``ceac.csv`` / ``ceac.png``, ``voi.csv`` (EVPI, EVPPI per entry), ``analysis_config.yaml``.
Written to a staging folder and renamed, so a killed run leaves nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

from sim.cli.apps import launch  # noqa: E402


def task(cfg) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    from sim.cli.apps import design_configs, model_overrides, plain, save_config, staged_output
    from sim.evidence.registry import load_registry
    from sim.programme.effects import evidence_ids
    from sim.uncertainty.factors import Factor, evaluate
    from sim.uncertainty.psa import ceac, draw_evidence, evpi, evppi, net_benefit

    c = plain(cfg)
    if not isinstance(c["draws"], int) or c["draws"] < 2:
        raise ValueError(f"draws: got {c['draws']!r}, expected an integer >= 2")
    if c["wtp"] is not None and not (isinstance(c["wtp"], int | float) and c["wtp"] >= 0):
        raise ValueError(f"wtp: got {c['wtp']!r}, expected null or a number >= 0")
    configs = design_configs(list(c["designs"]), model_overrides(c))
    designs = list(configs)
    registry = load_registry()
    ids = sorted({i for cfg in configs.values() for i in evidence_ids(cfg)
                  if registry[i].distribution is not None
                  and registry[i].distribution["type"] != "fixed"})
    draws = draw_evidence([registry[i] for i in ids], c["draws"], c["seed"], c["rho"])
    wtp = c["wtp"] if c["wtp"] is not None else configs["usual_care"]["economics"][
        "willingness_to_pay_per_week_in_work"]
    from sim.uncertainty.factors import feasible_evidence

    infeasible = []
    start = time.perf_counter()
    print(f"PSA: {c['draws']} draws of {len(ids)} evidence entries x {len(designs)} designs, "
          f"{c['n_jobs']} workers", flush=True)
    for k in tqdm(range(c["draws"]), desc="feasibility", unit="draw", mininterval=2.0):
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
                infeasible.append({"draw": k, "entry": m["entry"], "drawn": m["requested"],
                                   "used": m["used"]})
    factors = [Factor(i, "evidence", float(draws[i].min()), float(draws[i].max()),
                      float(registry[i].value), id=i) for i in ids]
    res = evaluate(configs, factors, draws[ids].to_numpy(), n_jobs=c["n_jobs"],
                   desc="PSA runs").rename(columns={"sample": "draw"})
    infeasible = (pd.DataFrame(infeasible).groupby(["draw", "entry"], as_index=False)
                  .agg(drawn=("drawn", "first"), used=("used", "last"))
                  if infeasible else pd.DataFrame(columns=["draw", "entry", "drawn", "used"]))
    res["net_benefit"] = net_benefit(res["weeks_in_work"], res["cost_programme"], wtp)
    # NICE reference case: net health benefit (QALYs) at the lowest QALY threshold
    k_qaly = min(float(x) for x in configs["usual_care"]["economics"]["qaly_thresholds"])
    res["nhb_qaly"] = res["qaly"] - res["cost_nhs_pss"] / k_qaly
    wide = {m: res.pivot(index="draw", columns="design", values=m)[designs]
            for m in ("rtw_52w", "sii", "weeks_in_work", "cost_programme", "net_benefit",
                      "nhb_qaly")}
    best_nb = wide["net_benefit"].to_numpy().argmax(axis=1)
    best_nhb = wide["nhb_qaly"].to_numpy().argmax(axis=1)
    best_rtw = wide["rtw_52w"].to_numpy().argmax(axis=1)
    summary = []
    for j, d in enumerate(designs):
        row = {"design": d}
        for m in ("rtw_52w", "sii", "cost_programme", "net_benefit", "nhb_qaly"):
            v = wide[m][d]
            dv = v - wide[m]["usual_care"]
            row[f"{m}"] = v.mean()
            row[f"{m}_vs_uc"] = dv.mean()
            row[f"{m}_vs_uc_low"], row[f"{m}_vs_uc_high"] = np.percentile(dv, [2.5, 97.5])
        row["p_best_net_benefit"] = float(np.mean(best_nb == j))
        row["p_best_rtw"] = float(np.mean(best_rtw == j))
        row["p_best_nhb_qaly"] = float(np.mean(best_nhb == j))
        row["qaly_threshold"] = k_qaly
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

    with staged_output(Path(c["out"])) as staging:
        save_config(cfg, staging)
        draws.to_csv(staging / "draws.csv", index=False)
        infeasible.to_csv(staging / "clamped_draws.csv", index=False)
        res.to_csv(staging / "results.csv", index=False)
        summary.to_csv(staging / "summary.csv", index=False)
        curve.to_csv(staging / "ceac.csv", index=False)
        voi.to_csv(staging / "voi.csv", index=False)
        fig, ax = plt.subplots(figsize=(8, 5))
        colours = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
        for j, d in enumerate(designs):
            cd = curve[curve["design"] == d]
            ax.plot(cd["wtp"], cd["probability"], color=colours[j % len(colours)], label=d)
        ax.axvline(wtp, color="grey", ls=":", lw=1)
        ax.set_xlabel("willingness to pay per discounted week in work (GBP)")
        ax.set_ylabel("probability the design has the highest net benefit")
        ax.set_ylim(0, 1)
        ax.set_title(f"Cost-effectiveness acceptability curves ({c['draws']} PSA draws)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.savefig(staging / "ceac.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        lines = [f"# PSA: {c['draws']} draws x {len(designs)} designs, {c['population']}, "
                 f"{c['n']:,} people x {c['replicates']} replicates, seed {c['seed']}, "
                 f"rho {c['rho']}, "
                 f"WTP {wtp:,.0f} GBP per week in work", "",
                 "Intervals are 2.5-97.5 percentiles over evidence draws (common random "
                 "numbers within a draw). SII: slope index of inequality in RTW across IMD "
                 "quintiles (negative change = narrower).",
                 f"{infeasible['draw'].nunique()} of {c['draws']} draws had a value that no "
                 "hazard ratio reproduces on the model's baseline (e.g. a risk ratio whose "
                 "target exceeds 100% RTW); it was clamped at the feasible boundary "
                 "(clamped_draws.csv: drawn and used values), so the distribution is "
                 "truncated there.", "",
                 summary.round(4).to_string(index=False), "",
                 "## Value of information (GBP per person)", "",
                 voi.round(2).to_string(index=False), "", "![CEAC](ceac.png)", ""]
        (staging / "summary.md").write_text("\n".join(lines))
    print(f"PSA: {c['draws']} draws ({infeasible['draw'].nunique()} clamped) x {len(designs)} "
          "designs in "
          f"{time.perf_counter() - start:.0f} s -> {c['out']}")
    return 0


if __name__ == "__main__":
    launch("psa", task)

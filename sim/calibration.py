"""UK calibration targets and how close a run comes to them.

Targets (DIGEST s3; see README "Calibration"):

* fit-note cohort: "one in five people off sick for six weeks will remain off work"
  (HSE 2004) -> share not in work at week 52 among those absent at week 6 = 0.20.
* workforce: ONS 2022 sickness absence rate 2.6% of working hours; 5.7 days per worker per
  year; absence length distribution 66% <= 7 days, 16% 8 days-4 weeks, 20% > 4 weeks
  (NICE PH19 citing CIPD/CBI; printed shares sum to 102%, so they are rescaled to 1);
  5% of absences account for 40% of time lost.

A week is the model's shortest spell, so "<= 7 days" maps to 1-week spells, "8 days-4
weeks" to 2-4 weeks and "> 4 weeks" to 5+ weeks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.categories import ABSENT, PHASED, WORKING

LENGTH_SHARES_AS_PRINTED = (0.66, 0.16, 0.20)
TARGETS = {
    "remain_off_52w_given_off_6w": (0.20, "HSE 2004: one in five off sick at six weeks remain off"),
    "absence_rate": (0.026, "ONS 2022: 2.6% of working hours lost to sickness"),
    "days_lost_per_worker_year": (5.7, "ONS 2022: 5.7 days per worker"),
    "spells_1_week": (0.66 / 1.02, "NICE PH19 (CIPD/CBI): 66% of absences <= 7 days, rescaled"),
    "spells_2_4_weeks": (0.16 / 1.02, "NICE PH19 (CIPD/CBI): 16% 8 days-4 weeks, rescaled"),
    "spells_5plus_weeks": (0.20 / 1.02, "NICE PH19 (CIPD/CBI): 20% > 4 weeks, rescaled"),
    "top5pct_spells_share_of_time": (0.40, "NICE PH19: 5% of absences = 40% of time lost"),
}


def _per_replicate(agents: pd.DataFrame, spells: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    mode = cfg["population"]["mode"]
    hours = cfg["pathways"]["phased_return"]["hours_fraction"]
    days_per_week = cfg["outcomes"]["days_per_week"]
    rows = []
    for rep, a in agents.groupby("replicate", observed=True):
        stats = {}
        if mode == "cohort":
            if "state_week_6" in a and "state_week_52" in a:
                off6 = a["state_week_6"].cat.codes.to_numpy() == ABSENT
                s52 = a["state_week_52"].cat.codes.to_numpy()
                not_working = (s52 != WORKING) & (s52 != PHASED)
                if off6.any():
                    stats["remain_off_52w_given_off_6w"] = float(not_working[off6].mean())
        else:
            absent_weeks = a["weeks_absent"].sum() + (1 - hours) * a["weeks_phased"].sum()
            employed_weeks = a["weeks_working"].sum() + a["weeks_phased"].sum() + a[
                "weeks_absent"].sum()
            if employed_weeks > 0:
                stats["absence_rate"] = float(absent_weeks / employed_weeks)
                stats["days_lost_per_worker_year"] = float(
                    days_per_week * absent_weeks / (employed_weeks / 52.0))
            s = spells[spells["replicate"] == rep]
            lengths = np.repeat(s["weeks"].to_numpy(), s["spells"].to_numpy())
            if lengths.size:
                stats["spells_1_week"] = float(np.mean(lengths <= 1))
                stats["spells_2_4_weeks"] = float(np.mean((lengths >= 2) & (lengths <= 4)))
                stats["spells_5plus_weeks"] = float(np.mean(lengths >= 5))
                ordered = np.sort(lengths)[::-1]
                top = max(1, int(round(0.05 * ordered.size)))
                stats["top5pct_spells_share_of_time"] = float(ordered[:top].sum() / ordered.sum())
        for name, value in stats.items():
            rows.append({"replicate": rep, "target": name, "simulated": value})
    return pd.DataFrame(rows, columns=["replicate", "target", "simulated"])


def calibration_table(agents: pd.DataFrame, spells: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Target vs simulated (mean and range over replicates) for the targets this mode has."""
    per = _per_replicate(agents, spells, cfg)
    if per.empty:
        return pd.DataFrame(columns=["target", "target_value", "simulated", "sim_low",
                                     "sim_high", "difference", "source"])
    g = per.groupby("target")["simulated"]
    out = pd.DataFrame({"simulated": g.mean(), "sim_low": g.min(), "sim_high": g.max()})
    out["target_value"] = [TARGETS[t][0] for t in out.index]
    out["difference"] = out["simulated"] - out["target_value"]
    out["source"] = [TARGETS[t][1] for t in out.index]
    out = out.reset_index()
    order = {name: i for i, name in enumerate(TARGETS)}
    out = out.sort_values("target", key=lambda s: s.map(order)).reset_index(drop=True)
    return out[["target", "target_value", "simulated", "sim_low", "sim_high", "difference",
                "source"]]

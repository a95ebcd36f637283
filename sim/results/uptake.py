"""The programme table: per component and replicate, who was referred, started,
finished, dropped out or declined, the waits and weeks taken part, the costs, and the
hazard ratios used (:func:`programme_table`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.vocabulary import (
    DECLINED,
    DROPPED,
    FINISHED,
    LEFT_LIST,
    NEVER,
    STARTED,
    STATUS_NAMES,
)


def programme_table(model) -> pd.DataFrame:
    """One row per component: the hazard ratios used (after conversion), use and cost.

    Each component's people are counted per (replicate, status) in one bincount, and its
    waits and weeks summed per replicate (issue 19: not a mask per replicate); the waits
    and weeks are whole numbers, so the sums and means are those of the masked arrays."""
    prog = model.programme
    rows = []
    spec = model.cfg["programme"]["components"] or {}
    resolved = model.resolved_effects
    n_rep = model.replicates
    replicate = np.asarray(model.people.replicate).astype(np.int64)
    people = np.bincount(replicate, minlength=n_rep)
    n_status = len(STATUS_NAMES)
    started_status = np.isin(np.arange(n_status), STARTED)  # by status code
    for k, comp in enumerate(prog.components):
        status = prog.status[k]
        by_status = np.bincount(replicate * n_status + status,
                                minlength=n_rep * n_status).reshape(n_rep, n_status)
        n_started = by_status[:, list(STARTED)].sum(axis=1)
        waits = np.bincount(replicate, weights=prog.wait_weeks[k] * started_status[status],
                            minlength=n_rep)
        weeks = np.bincount(replicate, weights=prog.weeks_enrolled[k],
                            minlength=n_rep).astype(np.int64)
        for rep in range(n_rep):
            row = {
                "replicate": rep,
                "component": comp.key,
                "label": comp.label,
                "domain": comp.domain,
                "referred_or_waiting": int(people[rep] - by_status[rep, NEVER]),
                "started": int(n_started[rep]),
                "completed": int(by_status[rep, FINISHED]),
                "dropped": int(by_status[rep, DROPPED]),
                "left_waiting_list": int(by_status[rep, LEFT_LIST]),
                "declined": int(by_status[rep, DECLINED]),
                "mean_wait_weeks": float(waits[rep] / n_started[rep])
                if n_started[rep] > 0 else 0.0,
                "participant_weeks": int(weeks[rep]),
                "variable_cost_gbp": float(comp.cost_per_participant * n_started[rep]
                                           + comp.cost_per_week * weeks[rep]),
                "fixed_cost_gbp": comp.cost_fixed_per_week * model.horizon,
            }
            for effect_key, value in resolved.get(comp.key, {}).items():
                ref = spec[comp.key]["effects"].get(effect_key)
                row[f"{effect_key}_source"] = "" if ref is None else str(ref)
                row[effect_key] = np.nan if value is None else float(value)
            rows.append(row)
    return pd.DataFrame(rows)

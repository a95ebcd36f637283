"""Issue 19 (session 19): the run tables built in fewer passes equal plain per-group
versions of them, to the bit, on random tables with empty groups."""

import numpy as np
import pandas as pd

from sim.engine.categories import CONDITIONS, ETHNICITIES


def _curve_agents(rng, n):
    """A per-person table with what the curve tables read; the last condition and
    ethnic group have nobody, and weeks come from a narrow range (ties)."""
    onset = rng.integers(-1, 20, n)
    def week():
        return np.where(rng.random(n) < 0.6, onset + rng.integers(-2, 30, n), -1)
    return pd.DataFrame({
        "replicate": np.sort(rng.integers(0, 2, n)),
        "first_onset": onset.astype(np.int16),
        "first_rtw": week().astype(np.int16),
        "job_loss_week": week().astype(np.int16),
        "inactive_week": week().astype(np.int16),
        "weeks_to_rtw": np.full(n, -1, dtype=np.int16),
        "imd_quintile": rng.integers(1, 6, n).astype(np.int8),
        "ethnicity": pd.Categorical.from_codes(rng.integers(0, len(ETHNICITIES) - 1, n),
                                               categories=list(ETHNICITIES)),
        "condition": pd.Categorical.from_codes(rng.integers(0, len(CONDITIONS) - 1, n),
                                               categories=list(CONDITIONS)),
    })


def test_competing_risks_table_is_the_per_person_estimate_of_each_group():
    from sim.results.outcomes import (
        CAUSES,
        CURVE_DIMENSIONS,
        _group_codes,
        competing_risks_table,
        first_exit,
    )
    from sim.stats.survival import aalen_johansen

    rng = np.random.default_rng(11)
    horizon = 40
    agents = _curve_agents(rng, 3000)
    table = competing_risks_table(agents, {"horizon_weeks": horizon})
    time, cause, mask = first_exit(agents, horizon)
    weeks = np.arange(horizon + 1)
    parts = []
    for dim in CURVE_DIMENSIONS:
        codes, labels = _group_codes(agents, dim)
        for j, label in enumerate(labels):
            sel = codes[mask] == j
            if not sel.any():
                continue
            est = aalen_johansen(time[sel], cause[sel], causes=[1, 2, 3])  # one row a person
            for k, name in enumerate(CAUSES, start=1):
                rows = est[est["cause"] == k]
                t = rows["time"].to_numpy()
                pos = np.searchsorted(t, weeks, side="right") - 1
                nxt = np.searchsorted(t, weeks, side="left")
                part = {"dimension": dim, "group": str(label), "cause": name, "week": weeks}
                for col in ("cif", "low", "high"):
                    part[col] = np.where(pos >= 0, rows[col].to_numpy()[np.maximum(pos, 0)], 0)
                risk = rows["n_risk"].to_numpy()
                part["n_risk"] = np.where(nxt < len(t), risk[np.minimum(nxt, len(t) - 1)],
                                          0).astype(np.int64)
                part["n"] = int(sel.sum())
                parts.append(pd.DataFrame(part))
    expected = pd.concat(parts, ignore_index=True)
    assert set(expected["group"]) < {str(x) for d in CURVE_DIMENSIONS
                                     for x in _group_codes(agents, d)[1]}  # empty groups
    pd.testing.assert_frame_equal(table, expected, check_exact=True)

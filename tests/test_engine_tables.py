"""The vectorised engine's state kept across weeks (issue 19): the absent table and the
rosters must always say what the columns say, and the absent table's screen must never
hide a mover from the exact decision."""

import numpy as np
import pandas as pd

from sim.engine.categories import (
    ABSENT,
    INACTIVE,
    INACTIVE_BENEFIT,
    PHASED,
    UNEMPLOYED,
)
from sim.engine.model import RTWModel
from sim.engine.pathways import RETIRE
from sim.results import economics, outcomes
from sim.results.outcomes import agent_outcomes


def _model_with_effects(make_config, *overrides):
    model = RTWModel(make_config(*overrides))
    rng = np.random.default_rng(3)
    for key in ("rtw", "job_loss", "relapse", "reemploy", "phased"):
        model.effects.arrays[key] = rng.uniform(0.5, 2.0, model.people.n)
    return model


def test_absent_table_and_rosters_match_the_columns_every_week(make_config):
    # a cohort over 60 weeks: every state, and absent people moving up an age band
    model = _model_with_effects(make_config, "population.n=3000", "horizon_weeks=60",
                                "seed=4")
    col, pw = model.columns, model.pathways
    band_changes = 0  # of absent people, whose copied multipliers must be refreshed
    for _ in range(60):
        bands = col["age_band_now"].copy()
        model.step()
        band_changes += int(((col["age_band_now"] != bands) & (col["state"] == ABSENT)).sum())
        table, state = model._absent, col["state"]
        idx = table.idx
        np.testing.assert_array_equal(np.sort(idx), np.flatnonzero(state == ABSENT))
        np.testing.assert_array_equal(table.col("start"), col["state_since"][idx])
        np.testing.assert_array_equal(table.col("row0"),
                                      model.condition_severity[idx] * pw.n_weeks)
        for name in table.COPIED:  # refreshed when people change age band
            np.testing.assert_array_equal(table.col(name), getattr(pw, name)[idx], name)
        for name, codes in (("phased", (PHASED,)), ("unemployed", (UNEMPLOYED,)),
                            ("inactive", (INACTIVE, INACTIVE_BENEFIT))):
            np.testing.assert_array_equal(np.sort(model._rosters[name]),  # in no order
                                          np.flatnonzero(np.isin(state, codes)), name)
    assert band_changes > 0


def test_absent_screen_returns_exactly_the_unscreened_movers(make_config):
    """Against the shared decision over every absent person, with effects that raise and
    lower the hazards (the screen's bounds must hold for them too)."""
    model = _model_with_effects(make_config, "population.n=4000", "horizon_weeks=40",
                                "seed=9")
    col, pw, eff = model.columns, model.pathways, model.effects
    checked = 0
    for _ in range(40):
        t = model.engine_week
        if model._calendar is None:  # as step() does before deciding
            model._start_calendar(t)
        model._age(t)
        model._week_draws(t)
        if model._absent is None:
            model._advance_vectorised(t)  # builds the table on the first step
        else:
            ia = np.flatnonzero(col["state"] == ABSENT)
            out = pw.absent_decision(model.transition_draws(t, ia), ia,
                                     model.condition_severity[ia],
                                     t - col["state_since"][ia], eff.get("rtw", ia),
                                     eff.get("job_loss", ia))
            out[np.isin(ia, model.pension_due)] = RETIRE
            got_idx, got_out = model._decide_absent(
                t, model.transition_draws(t, model._absent.idx))
            np.testing.assert_array_equal(got_idx, ia[out != 0])
            np.testing.assert_array_equal(got_out, out[out != 0])
            checked += got_idx.size
            model._advance_vectorised(t)
        model.engine_week += 1
    assert checked > 100


def test_economics_chunked_sums_equal_one_pass(make_config, monkeypatch):
    model = RTWModel(make_config("population.n=3000", "horizon_weeks=60", "programme=ips_smi"))
    model.run()
    agents = agent_outcomes(model)
    cfg = model.cfg
    whole = economics.economics_table(agents, cfg)  # 3,000 people: one chunk
    monkeypatch.setattr(economics, "PERSON_COSTS_CHUNK", 128)
    chunked = economics.economics_table(agents, cfg)
    pd.testing.assert_frame_equal(whole, chunked, check_exact=True)


def test_group_summary_equals_float_numerators_to_the_bit(make_config):
    """Boolean numerators give the same sums as 0.0/1.0 float ones."""
    model = RTWModel(make_config("population.n=2000", "horizon_weeks=60"))
    model.run()
    agents = agent_outcomes(model)
    cfg = model.cfg
    summary = outcomes.group_summary(agents, cfg)
    metrics = outcomes._metrics(agents, cfg["horizon_weeks"], cfg["outcomes"]["rtw_weeks"],
                                cfg["outcomes"]["snapshot_weeks"],
                                cfg["outcomes"]["sustained_weeks"])
    codes, labels = outcomes._group_codes(agents, "condition")
    for metric, (num, eligible) in metrics.items():
        n = np.bincount(codes, weights=eligible, minlength=len(labels))
        total = np.bincount(codes, weights=np.where(eligible, num, 0.0), minlength=len(labels))
        rows = summary[(summary["dimension"] == "condition") & (summary["metric"] == metric)]
        expected = {str(labels[j]): total[j] / n[j] for j in np.flatnonzero(n > 0)}
        assert dict(zip(rows["group"], rows["value"], strict=True)) == expected, metric


def test_quality_table_equals_a_metric_by_metric_loop_to_the_bit(make_config):
    """The hoisted numerators and shared counts give the plain loop's table exactly:
    every dimension, metric, group and replicate, in the same row order."""
    from sim.results.quality import quality_metrics, quality_table

    model = RTWModel(make_config("population.n=1500", "horizon_weeks=60", "replicates=2",
                                 "programme=multicomponent"))
    model.run()
    agents = agent_outcomes(model)
    cfg = model.cfg
    table = quality_table(agents, cfg)
    replicate = agents["replicate"].to_numpy().astype(np.int64)
    rows = []
    for dim in outcomes.SUMMARY_DIMENSIONS:
        codes, labels = outcomes._group_codes(agents, dim)
        cell = replicate * len(labels) + codes
        for metric, (value, eligible) in quality_metrics(agents, cfg).items():
            n = np.bincount(cell, weights=eligible, minlength=2 * len(labels))
            total = np.bincount(cell, weights=np.where(eligible, value, 0.0),
                                minlength=2 * len(labels))
            rows += [(j // len(labels), dim, str(labels[j % len(labels)]), metric,
                      total[j] / n[j], int(n[j])) for j in np.flatnonzero(n > 0)]
    got = list(table.itertuples(index=False, name=None))
    assert got == rows
    assert table["dimension"].dtype == pd.Series(["x"]).dtype  # text as pandas infers it

"""PSA statistics on known cases, and the PSA experiment end to end at a tiny size."""

import numpy as np
import pytest
from scipy import stats

from sim.evidence.registry import load_registry
from sim.uncertainty.psa import ceac, draw_evidence, evpi, evppi


def test_copula_draws_keep_marginals_and_correlate_within_a_source():
    reg = load_registry()
    a, b = reg["coordination_vogel2017_hr"], reg["stepped_care_hr"]
    draws = draw_evidence([a, b], 20_000, seed=3, rho=0.8)
    # marginals: lognormal from the CI (median = value, 2.5/97.5% = the CI)
    lo, hi = np.percentile(draws[a.id], [2.5, 97.5])
    assert np.median(draws[a.id]) == pytest.approx(a.value, rel=0.03)
    assert lo == pytest.approx(a.ci[0], rel=0.05) and hi == pytest.approx(a.ci[1], rel=0.05)
    # different sources: independent
    assert abs(stats.spearmanr(draws[a.id], draws[b.id])[0]) < 0.03
    # entries with the same source: rank correlation of a Gaussian copula with rho
    twin = type(b)(**{**b.__dict__, "id": "twin", "source": a.source})
    d2 = draw_evidence([a, twin], 20_000, seed=3, rho=0.8)
    expected = 6 / np.pi * np.arcsin(0.8 / 2)
    assert stats.spearmanr(d2[a.id], d2["twin"])[0] == pytest.approx(expected, abs=0.02)
    with pytest.raises(ValueError, match="rho"):
        draw_evidence([a], 10, seed=1, rho=1.0)


def test_evpi_matches_the_closed_form_for_two_normal_options():
    # NB_1 = 0, NB_2 ~ N(mu, sd): EVPI = E[max(0, X)] - max(0, mu)
    rng = np.random.default_rng(0)
    mu, sd = 0.5, 2.0
    x = rng.normal(mu, sd, 400_000)
    nb = np.column_stack([np.zeros_like(x), x])
    closed = mu * stats.norm.cdf(mu / sd) + sd * stats.norm.pdf(mu / sd) - max(0.0, mu)
    assert evpi(nb) == pytest.approx(closed, rel=0.02)
    assert evpi(np.column_stack([x, x])) == 0.0  # no decision uncertainty


def test_evppi_is_evpi_for_the_only_uncertain_parameter_and_zero_for_noise():
    rng = np.random.default_rng(1)
    theta = rng.normal(0, 1, 5000)
    noise = rng.normal(0, 1, 5000)
    nb = np.column_stack([np.zeros_like(theta), theta])  # NB depends on theta only
    assert evppi(nb, theta) == pytest.approx(evpi(nb), rel=0.03)
    assert evppi(nb, noise) < 0.05 * evpi(nb)  # regression EVPPI has a small upward bias
    assert np.isnan(evppi(nb[:8], theta[:8]))  # 8 draws < 3 per coefficient (3 coefficients)


def test_ceac_is_a_probability_over_designs_and_follows_wtp():
    import pandas as pd

    rng = np.random.default_rng(2)
    weeks = pd.DataFrame({"a": np.zeros(1000), "b": 1 + rng.normal(0, 0.1, 1000)})
    cost = pd.DataFrame({"a": np.zeros(1000), "b": np.full(1000, 100.0)})
    c = ceac(weeks, cost, [0, 50, 100, 1000])
    total = c.groupby("wtp")["probability"].sum()
    assert np.allclose(total, 1.0)
    pb = c[c["design"] == "b"].set_index("wtp")["probability"]
    assert pb[0] == 0 and pb[1000] == 1 and pb.is_monotonic_increasing


def test_psa_experiment_runs_end_to_end(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    out = tmp_path / "psa"
    r = subprocess.run([sys.executable, str(repo / "experiments" / "psa.py"), "draws=3",
                        "n=1500", "replicates=1", "designs=[rtw_coordinator]", f"out={out}"],
                       capture_output=True, text=True, timeout=300, cwd=repo)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("draws.csv", "results.csv", "summary.csv", "summary.md", "ceac.csv",
                 "ceac.png", "voi.csv", "clamped_draws.csv", "analysis_config.yaml"):
        assert (out / name).is_file(), name
    import pandas as pd

    s = pd.read_csv(out / "summary.csv").set_index("design")
    assert s.loc["usual_care", "rtw_52w_vs_uc"] == 0
    # the flagged assumption of psa.yaml `assumptions` is drawn over its range and valued
    d = pd.read_csv(out / "draws.csv")
    assert d["ethnicity_onset_hr"].between(1.0, 1.94).all()
    assert d["ethnicity_onset_hr"].nunique() == 3
    assert "ethnicity_onset_hr" in set(pd.read_csv(out / "voi.csv")["parameters"])
    assert s["p_best_net_benefit"].sum() == pytest.approx(1.0)

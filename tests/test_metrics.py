"""Inequality and comparison metrics against published and hand-worked examples, and
invariants that a wrong formula, rank or tie convention would break."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.stats.metrics import (
    aalen_johansen,
    atkinson_ede,
    concentration_index,
    group_gaps,
    kolm_ede,
    mean_gap,
    paired_difference,
    paired_ratio,
    proportion_gap,
    sii_relative_to_mean,
    slope_index,
    wilson_interval,
)

Z95 = 1.959963984540054

# --------------------------------------------------------------------------------------
# 1. Gaps between groups
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    # Newcombe (1998) "Two-sided confidence intervals for the single proportion", Wilson
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
     (1, 29, 0.0061, 0.1718)],
)
def test_wilson_interval_matches_published_values(x, n, low, high):
    e = wilson_interval(x, n)
    assert e.estimate == pytest.approx(x / n)
    assert (round(e.low, 4), round(e.high, 4)) == (low, high)


@pytest.mark.parametrize(
    ("counts", "low", "high"),
    # Newcombe (1998) "Interval estimation for the difference between independent
    # proportions", Table II, method 10 (hybrid score)
    [((56, 70, 48, 80), 0.0524, 0.3339), ((9, 10, 3, 10), 0.1705, 0.8090),
     ((5, 56, 0, 29), -0.0381, 0.1926), ((0, 10, 0, 20), -0.1611, 0.2775),
     ((0, 10, 0, 10), -0.2775, 0.2775), ((10, 10, 0, 20), 0.6791, 1.0),
     ((10, 10, 0, 10), 0.6075, 1.0)],
)
def test_newcombe_hybrid_score_difference_matches_published_values(counts, low, high):
    g = proportion_gap(*counts)
    x1, n1, x0, n0 = counts
    assert g.absolute.estimate == pytest.approx(x1 / n1 - x0 / n0)
    assert (round(g.absolute.low, 4), round(g.absolute.high, 4)) == (low, high)


def test_katz_log_ratio_by_hand():
    g = proportion_gap(56, 70, 48, 80)
    se = math.sqrt(1 / 56 - 1 / 70 + 1 / 48 - 1 / 80)
    assert g.relative.estimate == pytest.approx(0.8 / 0.6)
    assert g.relative.low == pytest.approx(0.8 / 0.6 * math.exp(-Z95 * se))
    assert g.relative.high == pytest.approx(0.8 / 0.6 * math.exp(Z95 * se))
    assert not g.ratio_corrected
    # 90% interval is nested inside the 95% one
    g90 = proportion_gap(56, 70, 48, 80, level=0.90)
    assert g.relative.low < g90.relative.low < g90.relative.high < g.relative.high


def test_zero_counts_use_haldane_correction_for_the_ratio_only():
    g = proportion_gap(0, 40, 6, 50)
    assert g.absolute.estimate == pytest.approx(-0.12)  # the difference is not corrected
    assert g.ratio_corrected
    rr = (0.5 / 41) / (6.5 / 51)
    se = math.sqrt(1 / 0.5 - 1 / 41 + 1 / 6.5 - 1 / 51)
    assert g.relative.estimate == pytest.approx(rr)
    assert g.relative.low == pytest.approx(rr * math.exp(-Z95 * se))
    assert g.relative.high == pytest.approx(rr * math.exp(Z95 * se))
    both_zero = proportion_gap(0, 30, 0, 30)
    values = [both_zero.absolute.low, both_zero.absolute.high, both_zero.relative.estimate,
              both_zero.relative.low, both_zero.relative.high]
    assert all(np.isfinite(values))
    assert both_zero.relative.estimate == pytest.approx(1.0)
    assert both_zero.relative.low < 1 < both_zero.relative.high


@pytest.mark.parametrize(
    ("args", "message"),
    [((5, 4, 1, 10), "x: must be between"), ((0, 0, 1, 10), "n: must be positive"),
     ((-1, 10, 1, 10), "x: must be between"), ((1, 10, 1, 10, 1.0), "level")],
)
def test_proportion_gap_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        proportion_gap(*args)


def test_mean_gap_welch_and_log_ratio_by_hand():
    y1, y0 = np.array([2.0, 4.0, 6.0]), np.array([1.0, 1.0, 2.0, 2.0])
    g = mean_gap(y1, y0)
    # means 4 and 1.5; variances of the means 4/3 and (1/3)/4 = 1/12
    v1, v0 = 4 / 3, 1 / 12
    df = (v1 + v0) ** 2 / (v1**2 / 2 + v0**2 / 3)
    half = stats.t.ppf(0.975, df) * math.sqrt(v1 + v0)
    assert g.absolute.estimate == pytest.approx(2.5)
    assert (g.absolute.low, g.absolute.high) == pytest.approx((2.5 - half, 2.5 + half))
    ci = stats.ttest_ind(y1, y0, equal_var=False).confidence_interval(0.95)
    assert (g.absolute.low, g.absolute.high) == pytest.approx((ci.low, ci.high))
    se_log = math.sqrt(v1 / 16 + v0 / 1.5**2)
    assert g.relative.estimate == pytest.approx(4 / 1.5)
    assert g.relative.low == pytest.approx(4 / 1.5 * math.exp(-Z95 * se_log))
    assert g.relative.high == pytest.approx(4 / 1.5 * math.exp(Z95 * se_log))


def test_mean_gap_degenerate_cases():
    single = mean_gap([3.0], [1.0, 2.0, 3.0])
    assert single.absolute.estimate == pytest.approx(1.0)
    assert np.isnan(single.absolute.low) and np.isnan(single.relative.high)
    constant = mean_gap([2.0, 2.0], [1.0, 1.0, 1.0])
    assert (constant.absolute.low, constant.absolute.high) == (1.0, 1.0)
    negative = mean_gap([-3.0, 1.0, 0.0], [1.0, 2.0])  # ratio interval undefined, no crash
    assert np.isnan(negative.relative.low)
    with pytest.raises(ValueError, match="values1: contains NaN"):
        mean_gap([1.0, np.nan], [1.0, 2.0])


def test_group_gaps_compares_each_group_with_the_reference():
    eth = pd.Categorical(
        ["white_british"] * 10 + ["asian"] * 5 + ["black"] * 4,
        categories=["white_british", "black", "asian", "other"],
    )
    rtw = [1] * 7 + [0] * 3 + [1] * 2 + [0] * 3 + [1, 1, 1, 0]
    df = pd.DataFrame({"ethnicity": eth, "rtw": rtw})
    df.loc[0, "rtw"] = np.nan  # a missing outcome is dropped
    out = group_gaps(df, "ethnicity", "white_british", "rtw")
    assert list(out["group"]) == ["black", "asian"]  # category order; empty "other" absent
    black = out.iloc[0]
    ref = proportion_gap(3, 4, 6, 9)
    assert (black["n"], black["n_reference"]) == (4, 9)
    assert black["difference"] == pytest.approx(0.75 - 6 / 9)
    assert black["difference_low"] == pytest.approx(ref.absolute.low)
    assert black["ratio_high"] == pytest.approx(ref.relative.high)

    means = group_gaps(df.assign(days=np.arange(19.0)), "ethnicity", "white_british", "days",
                       kind="mean")
    expected = mean_gap(np.arange(15.0, 19.0), np.arange(0.0, 10.0))
    assert means.iloc[0]["difference_low"] == pytest.approx(expected.absolute.low)


def test_group_gaps_rejects_bad_input():
    df = pd.DataFrame({"q": [1, 1, 5, 5], "y": [0, 1, 1, 2]})
    with pytest.raises(ValueError, match="outcome_col: 'y' must be 0/1"):
        group_gaps(df, "q", 5, "y")
    with pytest.raises(ValueError, match="reference: 3 is not a group"):
        group_gaps(df, "q", 3, "y", kind="mean")
    with pytest.raises(ValueError, match="group_col: column 'imd'"):
        group_gaps(df, "imd", 5, "y")


# --------------------------------------------------------------------------------------
# 2. Slope and relative index of inequality
# --------------------------------------------------------------------------------------


def test_sii_linear_gradient_equal_populations_is_exact():
    r = slope_index([1.0, 2.0, 3.0, 4.0, 5.0], [200] * 5)
    assert r.ranks == pytest.approx((0.1, 0.3, 0.5, 0.7, 0.9))
    # one quintile step is 0.2 of rank, so the slope is 1/0.2 = 5
    assert r.sii == pytest.approx(5.0)
    assert r.fitted_most_deprived == pytest.approx(0.5)
    assert r.fitted_least_deprived == pytest.approx(5.5)
    assert r.rii == pytest.approx(11.0)
    assert r.ci_method == "wls"
    assert r.sii_se == pytest.approx(0.0, abs=1e-12)  # no residual: WLS SE is zero


def test_sii_unequal_populations_by_hand():
    # shares 0.1, 0.2, 0.3, 0.4 -> mid-point ranks 0.05, 0.2, 0.45, 0.8
    r = slope_index([2.0, 4.0, 6.0, 8.0], [10, 20, 30, 40])
    assert r.ranks == pytest.approx((0.05, 0.2, 0.45, 0.8))
    # weighted mean rank 0.5, mean value 6; Sxy = 0.54, Sxx = 0.075 -> slope 7.2
    assert r.sii == pytest.approx(7.2)
    assert r.fitted_most_deprived == pytest.approx(6 - 7.2 * 0.5)
    assert r.rii == pytest.approx((2.4 + 7.2) / 2.4)
    equal = slope_index([2.0, 4.0, 6.0, 8.0], [25] * 4)
    assert equal.sii == pytest.approx(8.0)  # the populations, not just the order, matter


def test_sii_all_equal_outcome_gives_zero_and_rii_one():
    r = slope_index([0.6] * 5, [100, 300, 200, 50, 80], denominators=[100, 300, 200, 50, 80],
                    n_sim=20_000, rng=3)
    assert r.sii == pytest.approx(0.0, abs=1e-12)
    assert r.rii == pytest.approx(1.0)
    assert r.sii_low < 0 < r.sii_high
    assert r.rii_low < 1 < r.rii_high


def test_sii_order_and_sign_conventions():
    values, pops = [0.50, 0.55, 0.62, 0.66, 0.70], [120, 100, 90, 80, 110]
    base = slope_index(values, pops)
    assert base.sii > 0  # rises as deprivation falls: positive under least-minus-most
    assert base.rii == pytest.approx(base.fitted_least_deprived / base.fitted_most_deprived)
    flipped = slope_index(values[::-1], pops[::-1], order="least_deprived_first")
    assert flipped.sii == pytest.approx(base.sii)
    assert flipped.ranks == pytest.approx(base.ranks[::-1])
    other = slope_index(values, pops, direction="most_minus_least")
    assert other.sii == pytest.approx(-base.sii)
    assert other.rii == pytest.approx(1 / base.rii)
    assert (other.sii_low, other.sii_high) == pytest.approx((-base.sii_high, -base.sii_low))
    worse_in_least = slope_index(values[::-1], pops)  # quintile 1 now has the highest value
    assert worse_in_least.sii < 0 and worse_in_least.rii < 1


def test_sii_wls_standard_error_matches_fingertips_regression():
    # Fingertips form: regress y*sqrt(a) on sqrt(a) and rank*sqrt(a), no intercept
    values = np.array([75.9, 78.3, 83.8, 83.6, 80.5])
    pops = np.array([7291.0, 7997, 6105, 7666, 5790])
    a = pops / pops.sum()
    rank = np.cumsum(a) - a / 2
    Xt = np.column_stack([np.sqrt(a), rank * np.sqrt(a)])
    beta, rss, *_ = np.linalg.lstsq(Xt, values * np.sqrt(a), rcond=None)
    cov = rss[0] / (5 - 2) * np.linalg.inv(Xt.T @ Xt)
    r = slope_index(values, pops, ci="wls")
    se = math.sqrt(cov[1, 1])
    assert r.sii == pytest.approx(beta[1])
    assert r.rii == pytest.approx((beta[0] + beta[1]) / beta[0])
    assert r.sii_se == pytest.approx(se)
    q = stats.t.ppf(0.975, 3)
    assert (r.sii_low, r.sii_high) == pytest.approx((beta[1] - q * se, beta[1] + q * se))


def test_sii_simulation_is_seeded_and_agrees_with_propagated_error():
    values, pops, ses = [75.9, 78.3, 83.8, 83.6, 80.5], [7291, 7997, 6105, 7666, 5790], \
        [1.64, 1.58, 1.51, 1.78, 1.7]
    sim = slope_index(values, pops, ses, n_sim=50_000, rng=11)
    again = slope_index(values, pops, ses, n_sim=50_000, rng=np.random.default_rng(11))
    other = slope_index(values, pops, ses, n_sim=50_000, rng=12)
    assert sim.ci_method == "simulation"
    assert (sim.sii_low, sim.rii_high) == (again.sii_low, again.rii_high)
    assert sim.sii_low != other.sii_low
    prop = slope_index(values, pops, ses, ci="propagated")
    # normal draws: the simulated SII is exactly normal with SD = the propagated SE
    assert sim.sii_se == pytest.approx(prop.sii_se, rel=0.02)
    assert sim.sii_low == pytest.approx(prop.sii_low, abs=0.05 * prop.sii_se)
    assert sim.sii_high == pytest.approx(prop.sii_high, abs=0.05 * prop.sii_se)
    assert sim.rii_low == pytest.approx(prop.rii_low, rel=0.01)


def test_sii_proportions_from_counts_and_relative_to_mean():
    p = np.array([0.50, 0.55, 0.60, 0.62, 0.70])
    m = np.array([100, 120, 130, 110, 90])
    sim = slope_index(p, m, denominators=m, n_sim=40_000, rng=5)
    prop = slope_index(p, m, denominators=m, ci="propagated")
    assert sim.sii_se == pytest.approx(prop.sii_se, rel=0.05)  # beta vs binomial SE
    assert 0 < sim.sii_low < sim.sii < sim.sii_high
    rel = sii_relative_to_mean(p, m, denominators=m, ci="propagated")
    assert rel.estimate == pytest.approx(prop.sii / np.average(p, weights=m))
    assert rel.low < rel.estimate < rel.high
    hand = sii_relative_to_mean([0.5, 0.6, 0.7], [1, 1, 1], ci="none")
    assert hand.estimate == pytest.approx(0.3 / 0.6)  # slope 0.1 per 1/3 of rank


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"values": [1, 2, 3], "populations": [1, -1, 1]}, "populations: every group"),
     ({"values": [1, 2, 3], "populations": [1, 1]}, "lengths differ"),
     ({"values": [1, 2], "populations": [1, 1], "ses": [1, 1], "denominators": [5, 5]},
      "not both"),
     ({"values": [1, 2], "populations": [1, 1], "ci": "simulation"}, "ses: ci='simulation'"),
     ({"values": [0.2, 1.2], "populations": [1, 1], "denominators": [5, 5]},
      "values: must be proportions")],
)
def test_sii_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        slope_index(**kwargs)


# --------------------------------------------------------------------------------------
# 3. Concentration index
# --------------------------------------------------------------------------------------


def _kakwani_se(y, c):
    """Kakwani, Wagstaff & van Doorslaer (1997) variance, unit weights and no ties."""
    y = np.asarray(y, float)  # already sorted by rank
    n, mu = len(y), y.mean()
    r = (np.arange(1, n + 1) - 0.5) / n
    q = np.concatenate([[0.0], np.cumsum(y) / (n * mu)])
    a = (y / mu) * (2 * r - 1 - c) + 2 - q[:-1] - q[1:]
    return math.sqrt((np.mean(a**2) - (1 + c) ** 2) / n)


def test_concentration_index_hand_examples():
    # R = 1/8, 3/8, 5/8, 7/8; mean 2.5; cov = 6.25/4 - 1.25 = 0.3125; C = 0.625/2.5
    assert concentration_index([1, 2, 3, 4], [10, 20, 30, 40]).index == pytest.approx(0.25)
    # ties share the mid-point rank: R = 1/4, 1/4, 3/4, 3/4; cov = 1.75 - 1.5; C = 0.5/3
    tied = concentration_index([1, 3, 2, 6], [1, 1, 2, 2])
    assert tied.index == pytest.approx(1 / 6)
    assert concentration_index([4, 3, 2, 1], [1, 2, 3, 4]).index == pytest.approx(-0.25)


def test_concentration_index_equal_and_extreme_outcomes():
    flat = concentration_index([0.3] * 6, [1, 2, 2, 3, 4, 5])
    assert flat.index == pytest.approx(0.0, abs=1e-15)
    assert flat.se == pytest.approx(0.0, abs=1e-12)
    for n in (2, 5, 50):
        top = np.zeros(n)
        top[-1] = 1.0
        assert concentration_index(top, np.arange(n)).index == pytest.approx((n - 1) / n)
        assert concentration_index(top[::-1], np.arange(n)).index == pytest.approx(-(n - 1) / n)


def test_concentration_index_se_equals_kakwani_formula():
    rng = np.random.default_rng(2)
    y = rng.gamma(2.0, 3.0, size=60)
    ci = concentration_index(y, np.arange(60.0))
    assert ci.se == pytest.approx(_kakwani_se(y, ci.index), rel=1e-10)
    assert (ci.low, ci.high) == pytest.approx((ci.index - Z95 * ci.se, ci.index + Z95 * ci.se))


def test_concentration_index_weights_are_frequency_weights():
    y = np.array([1.0, 0.0, 2.0, 5.0, 3.0])
    x = np.array([1, 2, 2, 4, 5])
    w = np.array([3, 1, 2, 1, 4])
    weighted = concentration_index(y, x, w)
    expanded = concentration_index(np.repeat(y, w), np.repeat(x, w))
    assert weighted.index == pytest.approx(expanded.index)
    assert weighted.se == pytest.approx(expanded.se)
    # grouped input: one row per group with its mean outcome and population as the weight
    groups = pd.DataFrame({"x": np.repeat(x, w), "y": np.repeat(y, w)}).groupby("x")["y"]
    grouped = concentration_index(groups.mean(), groups.mean().index, groups.size())
    assert grouped.index == pytest.approx(expanded.index)


def test_concentration_index_invariances():
    rng = np.random.default_rng(4)
    y, x = rng.gamma(2.0, size=40), rng.integers(1, 6, size=40)
    base = concentration_index(y, x).index
    assert concentration_index(7 * y, x).index == pytest.approx(base)  # relative index
    assert concentration_index(y, np.exp(x)).index == pytest.approx(base)  # ranks only
    assert concentration_index(y, -x).index == pytest.approx(-base)


def test_erreygers_and_wagstaff_corrections_for_binary_outcome():
    y = np.array([0, 0, 1, 0, 1, 1, 1, 0, 1, 1])
    x = np.array([1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    c = concentration_index(y, x)
    mu = 0.6
    e = concentration_index(y, x, correction="erreygers")
    wg = concentration_index(y, x, correction="wagstaff")
    assert e.index == pytest.approx(4 * mu * c.index)
    assert wg.index == pytest.approx(c.index / (1 - mu))
    # the bounds scale the Erreygers index: an outcome in [0, 2] doubled gives the same
    e2 = concentration_index(2 * y, x, correction="erreygers", bounds=(0, 2))
    assert e2.index == pytest.approx(e.index)
    assert e2.se == pytest.approx(e.se)
    with pytest.raises(ValueError, match="outcome: values must lie within bounds"):
        concentration_index(2 * y, x, correction="erreygers")
    with pytest.raises(ValueError, match="mean strictly inside"):
        concentration_index(np.ones(4), [1, 2, 3, 4], correction="wagstaff")
    with pytest.raises(ValueError, match="weighted mean is 0"):
        concentration_index(np.zeros(4), [1, 2, 3, 4])


@pytest.mark.parametrize("correction", ["none", "erreygers", "wagstaff"])
def test_concentration_index_se_agrees_with_bootstrap(correction):
    rng = np.random.default_rng(8)
    n = 400
    x = rng.integers(1, 6, size=n)
    y = (rng.random(n) < 0.3 + 0.08 * x).astype(float)
    est = concentration_index(y, x, correction=correction)
    boots = []
    for _ in range(1000):
        i = rng.integers(0, n, size=n)
        boots.append(concentration_index(y[i], x[i], correction=correction).index)
    assert np.std(boots, ddof=1) == pytest.approx(est.se, rel=0.1)


# --------------------------------------------------------------------------------------
# 4. Equally distributed equivalents
# --------------------------------------------------------------------------------------


def test_atkinson_ede_hand_examples():
    assert atkinson_ede([1, 4], epsilon=0.5).ede == pytest.approx(2.25)  # ((1 + 2)/2)^2
    geo = atkinson_ede([1, 4], epsilon=1)
    assert (geo.ede, geo.mean, geo.index) == pytest.approx((2.0, 2.5, 0.2))
    assert atkinson_ede([1, 4], epsilon=2).ede == pytest.approx(1.6)  # harmonic mean
    bad = atkinson_ede([1, 4], epsilon=1, kind="bad")  # quadratic mean of a bad
    assert bad.ede == pytest.approx(math.sqrt(8.5))
    assert bad.index == pytest.approx(math.sqrt(8.5) / 2.5 - 1)
    # weights act as replication
    assert atkinson_ede([1, 4], [3, 1], epsilon=2).ede == \
        pytest.approx(atkinson_ede([1, 1, 1, 4], epsilon=2).ede)


@pytest.mark.parametrize("kind", ["good", "bad"])
def test_atkinson_ede_equal_values_and_zero_aversion(kind):
    for eps in (0.0, 0.5, 1.0, 3.0, 10.0):
        r = atkinson_ede([7.0] * 5, epsilon=eps, kind=kind)
        assert r.ede == pytest.approx(7.0)
        assert r.index == pytest.approx(0.0, abs=1e-12)
    y = [0.0, 2.0, 3.0, 30.0]
    assert atkinson_ede(y, [1, 2, 3, 4], epsilon=0, kind=kind).ede == \
        pytest.approx(np.average(y, weights=[1, 2, 3, 4]))


def test_atkinson_ede_monotone_in_epsilon_and_handles_zeros():
    rng = np.random.default_rng(0)
    y = rng.gamma(1.5, 10.0, size=200)
    eps = [0, 0.25, 0.5, 1, 1.5, 2, 5, 20, 80]
    good = [atkinson_ede(y, epsilon=e).ede for e in eps]
    bad = [atkinson_ede(y, epsilon=e, kind="bad").ede for e in eps]
    assert np.all(np.diff(good) < 0) and np.all(np.diff(bad) > 0)
    assert good[-1] >= y.min() and bad[-1] <= y.max()  # large eps: min / max, no overflow
    with_zero = atkinson_ede([0.0, 5.0, 10.0], epsilon=1)
    assert (with_zero.ede, with_zero.index) == (0.0, 1.0)
    days = atkinson_ede([0.0, 0.0, 0.0, 12.0], epsilon=1, kind="bad")  # mostly zero days
    assert days.ede == pytest.approx(math.sqrt(144 / 4))
    assert atkinson_ede([0.0, 0.0], epsilon=2, kind="bad").index == 0.0


def test_kolm_ede_hand_and_translation_invariance():
    good = kolm_ede([1, 4], alpha=0.5)
    assert good.ede == pytest.approx(-2 * math.log((math.exp(-0.5) + math.exp(-2)) / 2))
    bad = kolm_ede([1, 4], alpha=0.5, kind="bad")
    assert bad.ede == pytest.approx(2 * math.log((math.exp(0.5) + math.exp(2)) / 2))
    assert good.index == pytest.approx(2.5 - good.ede)
    shifted = kolm_ede([101, 104], alpha=0.5)
    assert shifted.ede == pytest.approx(good.ede + 100)  # absolute index: shift-invariant
    assert shifted.index == pytest.approx(good.index)
    assert kolm_ede([1, 4], alpha=0).ede == pytest.approx(2.5)
    assert kolm_ede([0, 1e4], alpha=1.0, kind="bad").ede == pytest.approx(1e4 - math.log(2))


@pytest.mark.parametrize(
    ("call", "message"),
    [(lambda: atkinson_ede([1, 2], epsilon=-0.1), "epsilon: must be >= 0"),
     (lambda: atkinson_ede([1, -2]), "values: must be non-negative"),
     (lambda: atkinson_ede([1, 2], [1, -1]), "weights: must be non-negative"),
     (lambda: atkinson_ede([1, 2], [1, 1, 1]), "weights: length 3"),
     (lambda: kolm_ede([1, 2], alpha=-1), "alpha: must be >= 0")],
)
def test_ede_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------------------
# 5. Aalen-Johansen
# --------------------------------------------------------------------------------------


def _brute_force_aj(time, event, weights, causes):
    """Direct loop over times, straight from the definition."""
    times = np.unique(time)
    surv, cif, rows = 1.0, dict.fromkeys(causes, 0.0), []
    for t in times:
        n = weights[time >= t].sum()
        d = {k: weights[(time == t) & (event == k)].sum() for k in causes}
        d_all = weights[(time == t) & (event > 0)].sum()
        for k in causes:
            cif[k] += surv * d[k] / n
        surv *= 1 - d_all / n
        rows += [(t, k, cif[k], surv) for k in causes]
    return pd.DataFrame(rows, columns=["time", "cause", "cif", "survival"])


def test_aj_without_censoring_is_the_empirical_cdf():
    rng = np.random.default_rng(1)
    t = rng.integers(0, 12, size=200)
    out = aalen_johansen(t, np.ones_like(t))
    ecdf = np.array([np.mean(t <= s) for s in out["time"]])
    assert out["cif"].to_numpy() == pytest.approx(ecdf, abs=1e-12)
    # delta-method variance reduces to the binomial variance
    assert out["se"].to_numpy() == pytest.approx(np.sqrt(ecdf * (1 - ecdf) / 200), abs=1e-12)
    assert out["survival"].to_numpy() == pytest.approx(1 - ecdf, abs=1e-12)


def test_aj_all_ties_at_one_time_by_hand():
    out = aalen_johansen([3, 3, 3, 3, 3], [1, 1, 2, 0, 0]).set_index("cause")
    assert out.loc[1, "cif"] == pytest.approx(0.4)
    assert out.loc[2, "cif"] == pytest.approx(0.2)
    assert out.loc[1, "survival"] == pytest.approx(0.4)
    assert out.loc[1, "n_risk"] == 5 and out.loc[2, "n_event"] == 1
    assert out.loc[1, "se"] == pytest.approx(math.sqrt(0.4 * 0.6 / 5))
    assert out.loc[2, "se"] == pytest.approx(math.sqrt(0.2 * 0.8 / 5))


def test_aj_events_precede_censoring_at_tied_times():
    # at week 2 the censored person is still at risk: n = 3, CIF(2) = 1/3 (not 1/2)
    out = aalen_johansen([2, 2, 3], [1, 0, 1])
    # the last person's event at week 3 adds S(2) * 1/1 = 2/3
    assert out["cif"].to_numpy() == pytest.approx([1 / 3, 1.0])
    assert out["n_risk"].to_numpy() == pytest.approx([3, 1])
    assert out["survival"].to_numpy() == pytest.approx([2 / 3, 0.0])


def test_aj_matches_brute_force_and_sums_to_one():
    rng = np.random.default_rng(7)
    n = 300
    t = rng.integers(0, 15, size=n)
    e = rng.choice([0, 1, 2, 3], p=[0.3, 0.4, 0.2, 0.1], size=n)
    w = rng.integers(1, 4, size=n).astype(float)
    out = aalen_johansen(t, e, weights=w)
    brute = _brute_force_aj(t, e, w, [1, 2, 3])
    merged = out.merge(brute, on=["time", "cause"], suffixes=("", "_bf"))
    assert len(merged) == len(out) == 3 * len(np.unique(t))
    assert merged["cif"].to_numpy() == pytest.approx(merged["cif_bf"].to_numpy(), abs=1e-12)
    assert merged["survival"].to_numpy() == pytest.approx(merged["survival_bf"].to_numpy())
    total = out.groupby("time").agg(cif=("cif", "sum"), survival=("survival", "first"))
    assert (total["cif"] + total["survival"]).to_numpy() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(out.loc[out["cause"] == 1, "cif"]) >= 0)
    assert np.all((out["low"] <= out["cif"]) & (out["cif"] <= out["high"]))
    assert np.all((out["low"] >= 0) & (out["high"] <= 1))


def test_aj_variance_equals_numerical_delta_method():
    rng = np.random.default_rng(3)
    t = rng.integers(0, 6, size=80)
    e = rng.choice([0, 1, 2], p=[0.3, 0.45, 0.25], size=80)
    out = aalen_johansen(t, e)
    times = np.unique(t)
    n = np.array([np.sum(t >= s) for s in times], float)
    d = np.array([[np.sum((t == s) & (e == k)) for k in (1, 2)] for s in times], float)
    lam0 = d / n[:, None]

    def cif(lam, k, upto):
        s, f = 1.0, 0.0
        for j in range(upto + 1):
            f += s * lam[j, k]
            s *= 1 - lam[j].sum()
        return f

    for k in (0, 1):
        for upto in (2, len(times) - 1):
            grad = np.zeros_like(lam0)
            for j in range(len(times)):
                for c in (0, 1):
                    h = np.zeros_like(lam0)
                    h[j, c] = 1e-6
                    grad[j, c] = (cif(lam0 + h, k, upto) - cif(lam0 - h, k, upto)) / 2e-6
            var = 0.0
            for j in range(upto + 1):  # multinomial covariance of the hazards at time j
                cov = (np.diag(lam0[j]) - np.outer(lam0[j], lam0[j])) / n[j]
                var += grad[j] @ cov @ grad[j]
            row = out[(out["cause"] == k + 1) & (out["time"] == times[upto])]
            assert row["se"].item() == pytest.approx(math.sqrt(var), rel=1e-6)


@pytest.mark.parametrize(
    ("time", "event", "message"),
    [([1, -1], [1, 0], "time: must be whole"), ([1.5, 2], [1, 0], "time: must be whole"),
     ([1, 2], [1, -1], "event: must be 0"), ([1, 2, 3], [1, 0], "lengths differ")],
)
def test_aj_rejects_bad_input(time, event, message):
    with pytest.raises(ValueError, match=message):
        aalen_johansen(time, event)


# --------------------------------------------------------------------------------------
# 6. Paired differences across replicates
# --------------------------------------------------------------------------------------


def test_paired_difference_hand_example():
    r = paired_difference([11.0, 12.0, 13.0], [10.0, 10.0, 10.0])
    # differences 1, 2, 3: mean 2, SD 1, SE 1/sqrt(3), t(0.975, 2) = 4.302653
    assert (r.estimate, r.n, r.df) == (2.0, 3, 2)
    assert r.se == pytest.approx(1 / math.sqrt(3))
    assert r.low == pytest.approx(2 - 4.302653 / math.sqrt(3), abs=1e-6)
    assert r.high == pytest.approx(2 + 4.302653 / math.sqrt(3), abs=1e-6)


def test_pairing_shrinks_the_interval_when_replicates_share_noise():
    rng = np.random.default_rng(9)
    shared = rng.normal(0, 5.0, size=20)  # replicate-level noise common to both arms
    baseline = 50 + shared + rng.normal(0, 0.3, size=20)
    design = 52 + shared + rng.normal(0, 0.3, size=20)
    paired = paired_difference(design, baseline)
    unpaired = mean_gap(design, baseline).absolute
    assert paired.estimate == pytest.approx(unpaired.estimate)
    assert (paired.high - paired.low) < 0.2 * (unpaired.high - unpaired.low)
    assert paired.low > 0 > unpaired.low  # only the paired analysis detects the effect


def test_paired_single_replicate_and_bad_input():
    one = paired_difference([5.0], [3.0])
    assert one.estimate == 2.0 and not one.has_interval
    assert np.isnan(one.low) and np.isnan(one.high) and np.isnan(one.se)
    assert not paired_ratio([5.0], [2.5]).has_interval
    with pytest.raises(ValueError, match="lengths differ"):
        paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="design_values: needs at least 1"):
        paired_difference([], [])


def test_paired_ratio_on_log_scale():
    r = paired_ratio([2.0, 8.0], [1.0, 1.0])
    # log ratios log 2 and log 8: mean 2 log 2 (ratio 4), SE log 2, t(0.975, 1) = 12.7062
    assert r.estimate == pytest.approx(4.0)
    assert r.se == pytest.approx(math.log(2))
    assert r.low == pytest.approx(4 * 2 ** -12.706205, rel=1e-6)
    assert r.high == pytest.approx(4 * 2**12.706205, rel=1e-6)
    with pytest.raises(ValueError, match="baseline_values: must be positive"):
        paired_ratio([1.0, 2.0], [0.0, 1.0])

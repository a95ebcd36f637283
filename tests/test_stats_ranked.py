"""sim.stats.ranked: the shortcut the sweep's aggregation takes gives the SII, RII and
concentration index of sim.stats.equity bit for bit, whatever the layout of the weights."""

import numpy as np
import pandas as pd
import pytest

from sim.compare import sweep_compare
from sim.stats.equity import concentration_index, slope_index
from sim.stats.ranked import RankedGroups


def _bits(x) -> bytes:
    return np.asarray(x, dtype=float).tobytes()


@pytest.mark.parametrize("layout", ["fortran", "c", "single"])
def test_ranked_groups_equal_the_functions_bit_for_bit(layout):
    rng = np.random.default_rng(7)
    reps = 1 if layout == "single" else 12
    for _ in range(40):
        values = rng.uniform(0.0, 1.0, (reps, 5))
        weights = rng.integers(1, 5000, (reps, 5)).astype(float)
        if layout != "c":  # the aggregation's layout: each replicate a strided row
            values, weights = np.asfortranarray(values), np.asfortranarray(weights)
        for y, w in zip(values, weights, strict=True):
            groups = RankedGroups(w)
            s = slope_index(y, w, ci="none")
            sii, rii = groups.slope(y)
            assert _bits(sii) == _bits(s.sii) and _bits(rii) == _bits(s.rii)
            c = concentration_index(y, np.arange(1, 6), w).index
            assert _bits(groups.concentration(y, w)) == _bits(c)


@pytest.mark.parametrize("k", [2, 5, 7])
def test_ranked_groups_fractional_ranks_as_equity_bit_for_bit(k):
    """The centred fractional ranks, taken without np.unique and np.bincount for the levels
    1..k: those of fractional_ranks, bit for bit, for strided and contiguous weights."""
    from sim.stats.equity import fractional_ranks

    rng = np.random.default_rng(k)
    for weights in (np.asfortranarray(rng.uniform(0.1, 9e3, (6, k))), rng.exponential(1, (6, k))):
        for w in weights:
            W = w.sum()
            R = fractional_ranks(np.arange(1, k + 1, dtype=float), w, W)[3]
            assert _bits(RankedGroups(w)._centred) == _bits(R - w @ R / W)


def test_ranked_groups_rii_nan_and_unusable_weights():
    w = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    y = np.array([0.9, 0.5, 0.3, 0.1, 0.0])  # fitted least deprived end below 0: RII NaN
    sii, rii = RankedGroups(w).slope(y)
    ref = slope_index(y, w, ci="none")
    assert np.isnan(rii) and np.isnan(ref.rii) and sii == ref.sii
    assert _bits(rii) == _bits(ref.rii)
    for y in ([0.0, 0.2, 0.4, 0.6, 0.8], [-0.4, -0.2, 0.0, 0.2, 0.4], [0.0] * 5,
              [0.5, np.nan, 0.2, 0.1, 0.3]):  # most deprived end at or below 0; NaN
        y = np.array(y)
        ref = slope_index(y, w, ci="none") if np.isfinite(y).all() else None
        sii, rii = RankedGroups(w).slope(y)
        if ref is not None:
            assert _bits([sii, rii]) == _bits([ref.sii, ref.rii])
        else:
            assert np.isnan(rii)
    assert not RankedGroups.usable(np.array([1.0, 0.0, 2.0]))
    assert not RankedGroups.usable(np.array([1.0, np.nan, 2.0]))
    assert not RankedGroups.usable(np.array([3.0]))
    assert RankedGroups.usable(w)


def test_inequality_rows_same_with_and_without_the_shortcut(monkeypatch):
    """The aggregation's per-replicate inequality rows equal those of the functions."""
    rng = np.random.default_rng(3)
    reps = list(range(6))
    values = rng.uniform(0.2, 0.9, (6, 5))
    denominators = rng.integers(50, 900, (6, 5)).astype(float)
    denominators[2, 3] = 0.0  # a replicate with an empty quintile: the functions' path
    values[4, 1] = np.nan  # no value: skipped by both
    imd = (reps, [str(i) for i in range(1, 6)], values, denominators)
    def rows(memo=None) -> pd.DataFrame:
        long = sweep_compare._Long()
        sweep_compare._inequality(imd, None, "rtw_13w", long, memo)
        return pd.DataFrame(long.rows())

    with pytest.raises(ValueError, match="populations"):
        rows()  # as slope_index itself raises
    denominators[2, 3] = 7.0
    memo: dict = {}
    fast = rows(memo)
    assert len(memo) == 5  # one per usable replicate
    monkeypatch.setattr(sweep_compare, "_ranked", lambda w, memo: None)
    slow = rows()
    assert len(fast) == 20
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert _bits(fast["value"].to_numpy()) == _bits(slow["value"].to_numpy())

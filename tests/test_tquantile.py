"""The t quantile table (sim.stats.tquantile) against scipy, bit for bit."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import stdtrit

from sim.stats import tquantile
from sim.stats.core import _t_ppf


def test_every_entry_is_scipys_value_bit_for_bit():
    df = np.arange(1, len(tquantile.T975) + 1)
    assert len(tquantile.T975) == 200
    expected = stdtrit(df.astype(float), 0.975)
    assert np.array_equal(np.array(tquantile.T975).view(np.int64), expected.view(np.int64))


def test_the_file_holds_what_its_generator_writes():
    text = Path(tquantile.__file__).read_text()
    assert tquantile._table_text() in text


@pytest.mark.parametrize("df", [1, 2, 9, 199, 200, np.int64(4), 9.0])
def test_scalars_match_scipy_in_value_and_type(df):
    got, want = _t_ppf(0.975, df), stdtrit(df, 0.975)
    assert type(got) is type(want) and got == want


@pytest.mark.parametrize("q, df", [(0.975, 201), (0.975, 9.5), (0.95, 9), (0.975, 0.5),
                                   (0.975, np.nan)])
def test_outside_the_table_scipy_answers(q, df):
    got, want = _t_ppf(q, df), stdtrit(df, q)
    assert (np.isnan(got) and np.isnan(want)) or got == want


def test_arrays_keep_their_shape_and_values():
    df = np.array([[1, 5], [9, 200]])
    assert np.array_equal(_t_ppf(0.975, df), stdtrit(df, 0.975))
    mixed = np.array([3, 250])  # one entry beyond the table: all from scipy, same values
    assert np.array_equal(_t_ppf(0.975, mixed), stdtrit(mixed, 0.975))


def test_a_95_interval_imports_no_scipy():
    code = ("import sys; from sim.stats.paired import paired_difference as f; "
            "f([1.0, 2.0, 4.0], [0.5, 1.0, 1.0]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"

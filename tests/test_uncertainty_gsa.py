import numpy as np
import pytest

from sim.uncertainty.gsa import make_problem, morris_indices, sobol_indices

A, B = 7.0, 0.1


def ishigami(x):
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def analytic():
    v = A**2 / 8 + B * np.pi**4 / 5 + B**2 * np.pi**8 / 18 + 0.5
    v1 = 0.5 * (1 + B * np.pi**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * np.pi**8 * (1 / 18 - 1 / 50)
    return np.array([v1 / v, v2 / v, 0.0]), np.array([(v1 + v13) / v, v2 / v, v13 / v])


PROBLEM = make_problem(["x1", "x2", "x3"], [[-np.pi, np.pi]] * 3)


def test_sobol_ishigami_matches_analytic():
    s1, st = analytic()
    df = sobol_indices(ishigami, PROBLEM, 2**12, seed=1)
    assert np.allclose(df["S1"], s1, atol=0.05)
    assert np.allclose(df["ST"], st, atol=0.05)


def test_morris_effects_and_unused_parameter_zero():
    df = morris_indices(ishigami, PROBLEM, trajectories=200, seed=2).set_index("parameter")
    # x1 and x2 matter most on their own; a parameter that is not used has mu* = 0
    assert df.loc["x1", "mu_star"] > 0 and df.loc["x2", "mu_star"] > 0
    unused = make_problem(["a", "b"], [[0, 1], [0, 1]])
    d2 = morris_indices(lambda x: 3 * x[:, 0], unused, trajectories=20, seed=3)
    assert d2["mu_star"].iloc[0] == pytest.approx(3.0)
    assert d2["mu_star"].iloc[1] == pytest.approx(0.0)


def test_bad_inputs_raise_one_line():
    with pytest.raises(ValueError, match="power of two"):
        sobol_indices(ishigami, PROBLEM, 100)
    with pytest.raises(ValueError, match="low < high"):
        make_problem(["a"], [[1, 0]])

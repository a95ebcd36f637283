import numpy as np
from scipy import stats

from sim.engine.rng import Streams


def test_streams_are_keyed_not_sequential():
    s = Streams(seed=3, replicate_sizes=[1000, 500])
    everyone = np.arange(1500)
    a = s.uniform_at(4, "transition", everyone)
    s.uniform_at(5, "transition", everyone)
    s.uniform_at(4, "other_decision", everyone)
    np.testing.assert_array_equal(s.uniform_at(4, "transition", everyone), a)
    assert not np.array_equal(s.uniform_at(5, "transition", everyone), a)
    assert not np.array_equal(s.uniform_at(4, "other_decision", everyone), a)
    assert not np.array_equal(Streams(seed=4, replicate_sizes=[1000, 500]).uniform_at(
        4, "transition", everyone), a)
    # a replicate's draws do not depend on the other replicates
    alone = Streams(seed=3, replicate_sizes=[1000]).uniform_at(4, "transition",
                                                                everyone[:1000])
    np.testing.assert_array_equal(alone, a[:1000])


def test_subset_draws_do_not_depend_on_which_others_are_drawn():
    s = Streams(seed=1, replicate_sizes=[50_000, 50_000])
    every = s.uniform_at(2, "return_mode", np.arange(100_000))
    some = s.uniform_at(2, "return_mode", np.array([7, 49_999, 50_000, 99_999]))
    np.testing.assert_array_equal(some, every[[7, 49_999, 50_000, 99_999]])
    # replicate 1's agent k gets the same draw as replicate 0's would under its own key,
    # i.e. not the same value
    assert every[0] != every[50_000]
    assert ((every >= 0) & (every < 1)).all()
    # uniform: Kolmogorov-Smirnov and lag-1 correlation
    assert stats.kstest(every, "uniform").pvalue > 1e-4
    assert abs(np.corrcoef(every[:-1], every[1:])[0, 1]) < 0.02
    other_week = s.uniform_at(3, "return_mode", np.arange(100_000))
    assert abs(np.corrcoef(every, other_week)[0, 1]) < 0.02

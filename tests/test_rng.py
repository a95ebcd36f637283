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


def _reference_uniform(s: Streams, week: int, decision: str, agents) -> list[float]:
    """The counter-based draw in plain Python integers: SplitMix64 of (stream key + local
    index x golden ratio) mod 2^64, its top 53 bits times 2^-53."""
    mask = (1 << 64) - 1
    keys = s._stream_keys(week, decision)
    out = []
    for i in agents:
        rep = int(np.searchsorted(s.offsets, i, side="right")) - 1
        z = (int(keys[rep]) + (i - int(s.offsets[rep])) * 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out.append((z >> 11) * 2.0 ** -53)
    return out


def test_uniform_at_is_splitmix64_of_the_keyed_counter():
    """The draws are the documented SplitMix64 values bit for bit (a faster arithmetic
    must not change a stream), with one replicate and with several."""
    for sizes in ([1000], [300, 700, 5]):
        s = Streams(seed=11, replicate_sizes=sizes)
        agents = [0, 1, 299, 300, 301, 999, sum(sizes) - 1]
        got = s.uniform_at(40, "uptake:rtw_coordinator", np.array(agents))
        assert got.tolist() == _reference_uniform(s, 40, "uptake:rtw_coordinator", agents)
        assert s.uniform_at(40, "x", np.array([], dtype=np.int64)).shape == (0,)


def test_uniform_many_equals_the_separate_calls_bit_for_bit():
    """One batched call gives exactly what one uniform_at call per decision gives: any
    number of decisions, empty ones, a decision asked twice, unsorted and repeated
    agents, one replicate and several."""
    rng = np.random.default_rng(5)
    for sizes in ([2000], [700, 1300], [100, 100, 100, 1700]):
        s = Streams(seed=3, replicate_sizes=sizes)
        n = sum(sizes)
        for week in (0, 31, 32, 259):
            requests = [("referral:a", rng.choice(n, 50, replace=False)),
                        ("uptake:a", np.zeros(0, dtype=np.int64)),
                        ("dropout:b", rng.integers(0, n, 300)),  # repeated agents
                        ("referral:a", np.array([n - 1, 0, 5])),
                        ("dropout:c", np.array([7]))]
            batch = s.uniform_many(week, requests)
            assert len(batch) == len(requests)
            for (decision, idx), got in zip(requests, batch, strict=True):
                want = s.uniform_at(week, decision, idx)
                assert got.dtype == want.dtype == np.float64
                assert got.tobytes() == want.tobytes()
        assert [a.size for a in s.uniform_many(3, [("a", []), ("b", [])])] == [0, 0]
        one = s.uniform_many(3, [("a", []), ("b", [4, 2])])
        assert one[1].tobytes() == s.uniform_at(3, "b", [4, 2]).tobytes()


def test_stream_keys_shared_by_the_process_are_the_keys_computed_afresh(monkeypatch):
    """Streams of one seed share their stream keys through the process's cache; a cached
    key is the one computed afresh, other seeds and replicate counts get their own, and
    the cache keeps at most KEY_CACHE_WORDS words."""
    from sim.engine import rng

    idx = np.arange(0, 600, 7)
    first = Streams(seed=21, replicate_sizes=[300, 300]).uniform_at(70, "referral:x", idx)
    monkeypatch.setattr(rng, "_KEYS", type(rng._KEYS)())
    monkeypatch.setattr(rng, "_keys_words", 0)
    fresh = Streams(seed=21, replicate_sizes=[300, 300]).uniform_at(70, "referral:x", idx)
    assert fresh.tobytes() == first.tobytes()
    assert len(rng._KEYS) == 1
    cached = Streams(seed=21, replicate_sizes=[300, 300]).uniform_at(70, "referral:x", idx)
    assert cached.tobytes() == first.tobytes() and len(rng._KEYS) == 1
    other = Streams(seed=22, replicate_sizes=[300, 300]).uniform_at(70, "referral:x", idx)
    one = Streams(seed=21, replicate_sizes=[600]).uniform_at(70, "referral:x", idx)
    assert len(rng._KEYS) == 3
    assert not np.array_equal(other, first)
    # replicate 0's keys do not depend on the replicate count; agents 301+ are replicate 1's
    # there, replicate 0's here
    assert np.array_equal(one[:43], first[:43]) and not np.array_equal(one[43:], first[43:])
    monkeypatch.setattr(rng, "KEY_CACHE_WORDS", 3 * rng.KEY_BLOCK_WEEKS * 2)
    s = Streams(seed=5, replicate_sizes=[10, 10])
    for week in range(0, 10 * rng.KEY_BLOCK_WEEKS, rng.KEY_BLOCK_WEEKS):
        s.uniform_at(week, "d", [1])
    assert rng._keys_words <= rng.KEY_CACHE_WORDS
    assert rng._keys_words == sum(k.size for k in rng._KEYS.values())

"""The vectorised SeedSequence words (sim.engine.seedseq) are numpy's, bit for bit, so the
keyed streams (sim.engine.rng.Streams.uniform_at) draw what they drew before."""

import numpy as np
import pytest

from sim.engine.rng import KEY_BLOCK_WEEKS, Streams, decision_key, splitmix64
from sim.engine.seedseq import first_state_words, int_words, stream_keys


def _numpy_word(words) -> np.uint64:
    return np.random.SeedSequence([int(w) for w in words]).generate_state(1, np.uint64)[0]


@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 7])
def test_first_state_words_match_seedsequence_for_any_entropy_length(length):
    # shorter than the pool (padding with hashed zeros), the pool itself, and longer
    # (the words mixed in after the pool)
    entropy = np.random.default_rng(length).integers(0, 2**32, size=(20, length),
                                                        dtype=np.uint64).astype(np.uint32)
    got = first_state_words(entropy)
    assert [int(g) for g in got] == [int(_numpy_word(row)) for row in entropy]


@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1, 2**32, 2**70 + 3])
def test_stream_keys_match_seedsequence_for_small_and_multiword_seeds(seed):
    key = decision_key("rtw_coordinator:referral")
    weeks = np.array([0, 1, 31, 32, 33, 259])
    got = stream_keys(seed, 3, weeks, key)
    assert got.shape == (6, 3)
    for i, w in enumerate(weeks):
        for r in range(3):
            assert got[i, r] == _numpy_word([*int_words(seed), r, w, key])


def test_int_words_are_numpys_reading_of_an_integer():
    assert int_words(0) == [0]
    assert int_words(2**32) == [0, 1]
    with pytest.raises(ValueError):
        int_words(-1)


def test_uniform_at_draws_as_one_seedsequence_per_week_did_across_key_blocks():
    streams = Streams(seed=11, replicate_sizes=[5, 3])
    idx = np.arange(8)
    rep = np.repeat([0, 1], [5, 3])
    local = (idx - np.array([0, 5])[rep]).astype(np.uint64)
    for week in (0, KEY_BLOCK_WEEKS - 1, KEY_BLOCK_WEEKS, 3 * KEY_BLOCK_WEEKS + 5):
        keys = np.array([_numpy_word([11, r, week, decision_key("uptake")]) for r in (0, 1)],
                        dtype=np.uint64)
        z = splitmix64(keys[rep] + local * np.uint64(0x9E3779B97F4A7C15))
        expected = (z >> np.uint64(11)).astype(np.float64) / 9007199254740992.0
        assert np.array_equal(streams.uniform_at(week, "uptake", idx), expected)

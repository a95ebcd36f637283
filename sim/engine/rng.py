"""Common random numbers: one uniform stream per (seed, replicate, week, decision).

Every stochastic decision draws from a stream keyed by what it is, never from a shared
sequential generator. The same person therefore faces the same luck in every programme
arm, whatever else happens in the run, so design comparisons are paired and a design with
no effect reproduces usual care exactly. Streams are indexed by agent: person ``i``'s
draw of a week and decision is the same whichever other people draw with them.

>>> s = Streams(seed=1, replicate_sizes=[3])
>>> s.uniform_at(week=0, decision="transition", idx=[0, 2]).shape
(2,)
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict

import numpy as np

from sim.engine.seedseq import stream_keys


def decision_key(decision: str) -> int:
    """Stable integer key for a decision name (independent of Python's hash seed)."""
    return zlib.crc32(decision.encode("utf-8"))


POPULATION_KEY = decision_key("population")


def generator(seed: int, *key: int) -> np.random.Generator:
    """A PCG64 generator for one keyed stream."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *key])))


# weeks of stream keys computed together (sim.engine.seedseq)
KEY_BLOCK_WEEKS = 32

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SHIFT53 = np.uint64(11)  # 64 - 53 bits


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 output function (Steele, Lea & Flood 2014) applied elementwise."""
    return _splitmix64_inplace(x.astype(np.uint64, copy=True))


_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def _splitmix64_inplace(z: np.ndarray) -> np.ndarray:
    # (the shifts into one scratch array: ~25% less numpy overhead for the small arrays
    # of a week's decisions than a new array per shift; the same values)
    t = np.empty_like(z)
    np.right_shift(z, _S30, out=t)
    z ^= t
    z *= _MIX1
    np.right_shift(z, _S27, out=t)
    z ^= t
    z *= _MIX2
    np.right_shift(z, _S31, out=t)
    z ^= t
    return z


# Stream keys of recent (seed, replicates, block of weeks, decision), shared by every
# Streams of the process: they depend on nothing else, so the runs of one seed (the
# explorer's design arms, one per lever value, and usual care; a sweep worker's cells)
# compute them once (~25 CPU-ms of a 20,000 x 260 run with a programme: ~145 blocks).
# Read-only arrays; at most KEY_CACHE_WORDS words (16 MB) kept, the oldest dropped first.
KEY_CACHE_WORDS = 2_000_000
_KEYS: OrderedDict = OrderedDict()
_KEYS_LOCK = threading.Lock()
_keys_words = 0


def _block_keys(seed: int, replicates: int, block: int, decision: str) -> np.ndarray:
    """[week of the block, replicate] stream keys (:func:`sim.engine.seedseq.stream_keys`),
    from the process's cache when the same block was computed before."""
    global _keys_words
    key = (seed, replicates, block, decision)
    with _KEYS_LOCK:
        found = _KEYS.get(key)
        if found is not None:
            _KEYS.move_to_end(key)
            return found
    first = block * KEY_BLOCK_WEEKS
    keys = stream_keys(seed, replicates, np.arange(first, first + KEY_BLOCK_WEEKS),
                       decision_key(decision))
    keys.setflags(write=False)
    if keys.size > KEY_CACHE_WORDS:
        return keys
    with _KEYS_LOCK:
        if key not in _KEYS:
            _KEYS[key] = keys
            _keys_words += keys.size
            while _keys_words > KEY_CACHE_WORDS:
                _keys_words -= _KEYS.popitem(last=False)[1].size
    return keys


class Streams:
    """Keyed uniform draws for a population made of stacked replicates.

    Replicate ``r`` occupies a contiguous slice of the agent columns; its draws come from
    its own keys, so a replicate's trajectory does not depend on how many replicates are
    stacked with it.

    Every weekly decision draws :meth:`uniform_at`: a counter-based draw for chosen agents
    only, SplitMix64 of (stream key + agent index x golden ratio), so a week costs draws
    for the people who decide, not for everyone (people in work decide only at their
    candidate weeks: :mod:`sim.engine.calendar`). The value for an agent does not depend on
    which other agents are asked for. (Until session 15 the weekly transition was a PCG64
    stream over everyone; :func:`generator` still makes the population's streams.)
    """

    def __init__(self, seed: int, replicate_sizes: list[int]):
        self.seed = int(seed)
        self.replicate_sizes = [int(n) for n in replicate_sizes]
        self.offsets = np.concatenate([[0], np.cumsum(self.replicate_sizes)]).astype(np.int64)
        self.n = int(self.offsets[-1])
        self._key_cache: dict[tuple[int, str], np.ndarray] = {}
        replicates = len(self.replicate_sizes)
        self._replicate_of = np.repeat(
            np.arange(replicates, dtype=np.int16 if replicates < 2**15 else np.int64),
            self.replicate_sizes)
        # (offset of each replicate) x golden ratio, modulo 2^64: a replicate's stream key
        # minus it is its "base", and base + global index x golden ratio is exactly
        # key + local index x golden ratio (no per-agent subtraction of the offset)
        self._offset_golden = np.multiply(self.offsets[:-1], _GOLDEN, dtype=np.uint64,
                                          casting="unsafe")

    def _stream_keys(self, week: int, decision: str) -> np.ndarray:
        """Per replicate, ``SeedSequence([seed, r, week, key])``'s first 64-bit word,
        computed for a block of weeks at once (:mod:`sim.engine.seedseq`: the same words,
        without one SeedSequence per week and decision)."""
        block = week // KEY_BLOCK_WEEKS
        cached = self._key_cache.get((block, decision))
        if cached is None:
            if len(self._key_cache) > 256:
                self._key_cache.clear()
            cached = _block_keys(self.seed, len(self.replicate_sizes), block, decision)
            self._key_cache[(block, decision)] = cached
        return cached[week - block * KEY_BLOCK_WEEKS]

    def uniform_at(self, week: int, decision: str, idx) -> np.ndarray:
        """Uniform [0, 1) draws for agents ``idx`` only, for this (week, decision)."""
        idx = np.asarray(idx, dtype=np.int64)
        if not idx.size:  # (nobody decides: no keys, no arithmetic)
            return np.zeros(0)
        stream_keys = self._stream_keys(int(week), decision)
        if stream_keys.size == 1:  # one replicate: no per-agent replicate lookups
            # (idx x golden ratio modulo 2^64: the int64 indices are >= 0, so the unsafe
            # cast to uint64 keeps each value)
            z = np.multiply(idx, _GOLDEN, dtype=np.uint64, casting="unsafe")
            z += stream_keys[0]
        else:
            z = np.multiply(idx, _GOLDEN, dtype=np.uint64, casting="unsafe")
            z += (stream_keys - self._offset_golden)[self._replicate_of[idx]]
        return _to_unit(z)

    def uniform_many(self, week: int, requests) -> list[np.ndarray]:
        """:meth:`uniform_at` of several decisions of one week in one pass:
        ``requests`` is a sequence of ``(decision, idx)``; the result holds, in order,
        exactly what ``uniform_at(week, decision, idx)`` gives for each (the same bits:
        each value depends only on its week, decision and agent), for the numpy
        overhead of one call instead of one per decision (the programme draws
        referral, uptake and drop-out of each component every week)."""
        requests = [(d, np.asarray(i, dtype=np.int64)) for d, i in requests]
        sizes = [i.size for _, i in requests]
        total = sum(sizes)
        if not total:
            return [np.zeros(0) for _ in requests]
        if len(requests) == 1 or total == max(sizes):  # one decision draws: no batch
            return [self.uniform_at(week, d, i) if i.size else np.zeros(0)
                    for d, i in requests]
        week = int(week)
        live = [(d, i) for d, i in requests if i.size]
        idx = np.concatenate([i for _, i in live])
        keys = [self._stream_keys(week, d) for d, _ in live]
        counts = [i.size for _, i in live]
        z = np.multiply(idx, _GOLDEN, dtype=np.uint64, casting="unsafe")
        if keys[0].size == 1:  # one replicate: each decision's one key, per agent
            z += np.repeat(np.concatenate(keys), counts)
        else:  # [decision, replicate] bases (see __init__), one flat look-up per agent
            bases = (np.stack(keys) - self._offset_golden).ravel()
            cell = np.repeat(np.arange(0, bases.size, keys[0].size), counts)
            cell += self._replicate_of[idx]
            z += bases[cell]
        u = _to_unit(z)
        out, at = [], 0
        for n in sizes:
            out.append(u[at:at + n] if n else np.zeros(0))
            at += n
        return out


def _to_unit(z: np.ndarray) -> np.ndarray:
    """SplitMix64 of the counters ``z`` (in place) as uniform [0, 1) doubles."""
    _splitmix64_inplace(z)
    z >>= _SHIFT53
    # the top 53 bits times 2^-53 (the multiply converts each exactly to float64)
    return np.multiply(z, 1.0 / 9007199254740992.0)

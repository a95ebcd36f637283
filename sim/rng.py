"""Common random numbers: one uniform stream per (seed, replicate, week, decision).

Every stochastic decision draws from a stream keyed by what it is, never from a shared
sequential generator. The same person therefore faces the same luck in every programme
arm, whatever else happens in the run, so design comparisons are paired and a design with
no effect reproduces usual care exactly. Streams are indexed by agent: element ``i`` of a
week's draw belongs to person ``i`` whether or not that person needs it.

>>> s = Streams(seed=1, replicate_sizes=[3])
>>> s.uniform(week=0, decision="transition").shape
(3,)
"""

from __future__ import annotations

import zlib

import numpy as np


def decision_key(decision: str) -> int:
    """Stable integer key for a decision name (independent of Python's hash seed)."""
    return zlib.crc32(decision.encode("utf-8"))


POPULATION_KEY = decision_key("population")


def generator(seed: int, *key: int) -> np.random.Generator:
    """A PCG64 generator for one keyed stream."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *key])))


class Streams:
    """Keyed uniform draws for a population made of stacked replicates.

    Replicate ``r`` occupies a contiguous slice of the agent columns; its draws come from
    its own keys, so a replicate's trajectory does not depend on how many replicates are
    stacked with it.
    """

    def __init__(self, seed: int, replicate_sizes: list[int]):
        self.seed = int(seed)
        self.replicate_sizes = [int(n) for n in replicate_sizes]
        self.offsets = np.concatenate([[0], np.cumsum(self.replicate_sizes)]).astype(np.int64)
        self.n = int(self.offsets[-1])
        self._buffers: dict[str, np.ndarray] = {}

    def uniform(self, week: int, decision: str) -> np.ndarray:
        """Uniform [0, 1) draws for every agent for this (week, decision).

        The returned array is a reused buffer: it stays valid until the next call with the
        same decision name.
        """
        buf = self._buffers.get(decision)
        if buf is None:
            buf = self._buffers[decision] = np.empty(self.n, dtype=np.float64)
        key = decision_key(decision)
        for r, (lo, hi) in enumerate(zip(self.offsets[:-1], self.offsets[1:], strict=True)):
            generator(self.seed, r, int(week), key).random(out=buf[lo:hi])
        return buf

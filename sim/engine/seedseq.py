"""numpy's ``SeedSequence(entropy).generate_state(1, np.uint64)``, for many entropies at once.

:class:`sim.engine.rng.Streams` keys every (week, decision, replicate) stream by the first
64-bit word of a ``SeedSequence([seed, replicate, week, decision key])``. Building one
``SeedSequence`` costs ~70 microseconds of Python, and a run asks for thousands of keys (a
programme's referral, uptake and drop-out draws each need one per week): at 20,000 people
that was a fifth of a design's weekly programme work. This module computes the same words
with numpy over a block of weeks in one go. It is numpy's algorithm (``mix_entropy`` and
``generate_state`` of ``numpy/random/bit_generator.pyx``, pool size 4, no spawn key),
32-bit arithmetic throughout; tests/test_seedseq.py checks it bit for bit against
``SeedSequence`` itself.
"""

from __future__ import annotations

import numpy as np

_M32 = 0xFFFFFFFF
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = np.uint32(0xCA01F9DD), np.uint32(0x4973F715)
_SHIFT = np.uint32(16)
POOL_SIZE = 4


def int_words(value: int) -> list[int]:
    """A non-negative integer as numpy's SeedSequence reads it: 32-bit words, least
    significant first (0 is one word)."""
    value = int(value)
    if value < 0:
        raise ValueError(f"seed words must be non-negative, got {value}")
    words = [value & _M32]
    value >>= 32
    while value:
        words.append(value & _M32)
        value >>= 32
    return words


def _hashmix(value: np.ndarray, h: int) -> tuple[np.ndarray, int]:
    h_in = np.uint32(h)
    h = (h * _MULT_A) & _M32
    value = (value ^ h_in) * np.uint32(h)
    return value ^ (value >> _SHIFT), h


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r = _MIX_L * x - _MIX_R * y
    return r ^ (r >> _SHIFT)


def first_state_words(entropy: np.ndarray) -> np.ndarray:
    """``SeedSequence(row).generate_state(1, np.uint64)[0]`` for each row of ``entropy``
    (an (m, L) array of 32-bit words, every row the same length L >= 1)."""
    entropy = np.asarray(entropy, dtype=np.uint32)
    m, length = entropy.shape
    h = _INIT_A
    pool = []
    with np.errstate(over="ignore"):
        for i in range(POOL_SIZE):
            word = entropy[:, i] if i < length else np.zeros(m, dtype=np.uint32)
            v, h = _hashmix(word, h)
            pool.append(v)
        for src in range(POOL_SIZE):
            for dst in range(POOL_SIZE):
                if src != dst:
                    v, h = _hashmix(pool[src], h)
                    pool[dst] = _mix(pool[dst], v)
        for src in range(POOL_SIZE, length):
            for dst in range(POOL_SIZE):
                v, h = _hashmix(entropy[:, src], h)
                pool[dst] = _mix(pool[dst], v)
        h = _INIT_B
        out = []
        for i in range(2):  # two 32-bit words, little-endian into one 64-bit word
            h_in = np.uint32(h)
            h = (h * _MULT_B) & _M32
            v = (pool[i % POOL_SIZE] ^ h_in) * np.uint32(h)
            out.append(v ^ (v >> _SHIFT))
    return out[0].astype(np.uint64) | (out[1].astype(np.uint64) << np.uint64(32))


def stream_keys(seed: int, replicates: int, weeks: np.ndarray, key: int) -> np.ndarray:
    """[week, replicate] array of ``SeedSequence([seed, r, week, key])`` first words."""
    weeks = np.asarray(weeks, dtype=np.int64)
    if weeks.size and int(weeks.max()) > _M32 or (weeks.size and int(weeks.min()) < 0):
        raise ValueError("weeks must be in [0, 2**32)")
    head = int_words(seed)
    tail = int_words(key)
    w, r = np.meshgrid(weeks, np.arange(replicates, dtype=np.int64), indexing="ij")
    rows = w.size
    entropy = np.empty((rows, len(head) + 2 + len(tail)), dtype=np.uint32)
    entropy[:, : len(head)] = head
    entropy[:, len(head)] = r.ravel()
    entropy[:, len(head) + 1] = w.ravel()
    entropy[:, len(head) + 2:] = tail
    return first_state_words(entropy).reshape(w.shape)


__all__ = ["first_state_words", "int_words", "stream_keys", "POOL_SIZE"]

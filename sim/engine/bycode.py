"""A per-person value that depends on one category only, stored as a table and a code.

``early_before`` depends on severity only, ``relapse_mult`` on condition, the retirement
hazard and the unemployed-to-inactive hazard on the current age band. As float64 arrays
they cost 8 bytes a person each, 32 of a long run's ~400 (issue 19); as a small table and
the person's category code (an int8 array the run keeps anyway) they cost nothing. Read
as ``values[idx]`` (``table[codes[idx]]``: the same float64 values as the array, to the
bit) and ``values.max(initial=...)``, the two ways the engines read them.
"""

from __future__ import annotations

import numpy as np


class ByCode:
    """``table[codes[i]]`` for each person ``i``, read like a float64 array by index."""

    dtype = np.dtype(np.float64)

    def __init__(self, table, codes: np.ndarray):
        self.table = np.asarray(table, dtype=np.float64)
        self.codes = codes

    def __getitem__(self, idx):
        return self.table[self.codes[idx]]

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def shape(self) -> tuple[int]:
        return (len(self.codes),)

    @property
    def size(self) -> int:
        return len(self.codes)

    def __array__(self, dtype=None, copy=None):
        values = self.table[self.codes]
        return values if dtype is None else values.astype(dtype)

    def max(self, initial=None):
        """The largest value anyone has (``initial`` at least; as ``ndarray.max``)."""
        present = np.bincount(self.codes, minlength=len(self.table))[:len(self.table)] > 0
        values = self.table[present]
        return values.max() if initial is None else values.max(initial=initial)

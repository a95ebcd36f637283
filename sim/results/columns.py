"""Columns of the agents table as numpy arrays, read once and sliced by rows.

The tables that work a chunk of people at a time (the economics, issue 19) read a dozen
columns of each chunk. Through pandas (``agents.iloc[lo:hi]``, then ``part[name]``) each
read costs tens of microseconds of bookkeeping, which at sweep scale (10 replicates x
10,000 people, 100 cells) added up to more than the arithmetic. Here each column is
turned into an array once (no copy for numeric columns; category columns give their
codes) and a chunk is a slice of it (a view).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class TableColumns:
    """Rows ``lo:hi`` of ``agents``' columns: ``cols[name]`` is a numpy array (a view),
    category columns as their integer codes (:meth:`is_category` compares with a label)."""

    def __init__(self, agents: pd.DataFrame, lo: int = 0, hi: int | None = None,
                 _cache: dict | None = None):
        self._agents = agents
        self._cache = {} if _cache is None else _cache
        self.lo, self.hi = lo, len(agents) if hi is None else min(hi, len(agents))
        self.columns = agents.columns

    def __len__(self) -> int:
        return self.hi - self.lo

    def __contains__(self, name) -> bool:
        return name in self.columns

    def _array(self, name: str) -> np.ndarray:
        array = self._cache.get(name)
        if array is None:
            series = self._agents[name]
            array = (series.cat.codes.to_numpy() if isinstance(series.dtype, pd.CategoricalDtype)
                     else series.to_numpy())
            self._cache[name] = array
        return array

    def __getitem__(self, name: str) -> np.ndarray:
        return self._array(name)[self.lo:self.hi]

    def is_category(self, name: str, label: str) -> np.ndarray:
        """Whether each row's category ``name`` is ``label`` (``agents[name] == label``)."""
        if not isinstance(self._agents[name].dtype, pd.CategoricalDtype):
            return np.asarray(self[name] == label, dtype=bool)  # plain labels
        categories = list(self._agents[name].cat.categories)
        if label not in categories:
            return np.zeros(len(self), dtype=bool)
        return self[name] == categories.index(label)

    def categories(self, name: str) -> list:
        """The labels of category column ``name``, in code order."""
        return list(self._agents[name].cat.categories)

    def rows(self, lo: int, hi: int) -> TableColumns:
        """Rows ``lo:hi`` of these rows (sharing the arrays already read)."""
        return TableColumns(self._agents, self.lo + lo, self.lo + hi, self._cache)

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

    @property
    def names(self) -> tuple[str, ...]:
        """The column names as a tuple of ``str``, read once for all the chunks (issue 19:
        iterating the table's text index cost ~60 us a chunk)."""
        names = self._cache.get(("names",))
        if names is None:
            names = self._cache["names",] = tuple(str(c) for c in self.columns)
        return names

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
        categories = self._labels(name)
        if categories is None:
            return np.asarray(self[name] == label, dtype=bool)  # plain labels
        if label not in categories:
            return np.zeros(len(self), dtype=bool)
        return self[name] == categories.index(label)

    def categories(self, name: str) -> list:
        """The labels of category column ``name``, in code order (a new list)."""
        return list(self._labels(name))

    def _labels(self, name: str) -> list | None:
        """Category column ``name``'s labels (None for a column that is not one), read
        from the table once for all the chunks: a pandas column, its dtype and its
        categories cost ~100 us a read (issue 19: ~1.5 ms of each chunk of the economics
        table). The cache holds them under ``(name, "labels")``, beside the arrays."""
        key = (name, "labels")
        if key not in self._cache:
            series = self._agents[name]
            self._cache[key] = (list(series.cat.categories)
                                if isinstance(series.dtype, pd.CategoricalDtype) else None)
        return self._cache[key]

    def rows(self, lo: int, hi: int) -> TableColumns:
        """Rows ``lo:hi`` of these rows (sharing the arrays already read)."""
        return TableColumns(self._agents, self.lo + lo, self.lo + hi, self._cache)

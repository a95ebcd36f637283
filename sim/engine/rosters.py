"""Who is in which state, kept from week to week (the vectorised engine).

Finding the people of a state by scanning every person's state each week costs a pass over
the whole population for the few out of work (issue 19). A roster is a sorted index array
of the people in a group of states, updated from each week's moves only.

>>> import numpy as np
>>> r = Rosters(np.array([0, 3, 3, 1], dtype=np.int8), {"unemployed": (3,)}, n_states=7)
>>> r.move(np.array([0, 1]), np.array([0, 3]), np.array([3, 0]))
>>> r["unemployed"].tolist()
[0, 2]
"""

from __future__ import annotations

import numpy as np


class Rosters:
    """Sorted people of each named group of state codes (groups do not overlap)."""

    def __init__(self, state: np.ndarray, groups: dict[str, tuple[int, ...]], n_states: int):
        self._names = list(groups)
        self._group_of = np.full(n_states, -1, dtype=np.int8)  # state code -> group (-1: none)
        self._members = {}
        for g, (name, codes) in enumerate(groups.items()):
            if (self._group_of[list(codes)] >= 0).any():
                raise ValueError(f"roster {name!r} overlaps another")
            self._group_of[list(codes)] = g
            self._members[name] = np.flatnonzero(self._group_of[state] == g)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._members[name]

    def move(self, moved: np.ndarray, from_state: np.ndarray, to_state: np.ndarray) -> None:
        """People ``moved`` went from ``from_state`` to ``to_state`` this week."""
        was, now = self._group_of[from_state], self._group_of[to_state]
        changed = np.flatnonzero(was != now)  # most moves touch no roster (absent -> work)
        if not changed.size:
            return
        who, was, now = moved[changed], was[changed], now[changed]
        for g, name in enumerate(self._names):
            members = self._members[name]
            leaving = np.sort(who[was == g])
            if leaving.size:
                members = np.delete(members, np.searchsorted(members, leaving))
            joining = np.sort(who[now == g])
            if joining.size:
                members = np.insert(members, np.searchsorted(members, joining), joining)
            self._members[name] = members

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
        """People ``moved`` went from ``from_state`` to ``to_state`` this week. Only the
        rosters someone left or joined change: leavers are masked out, joiners merged in
        (a stable sort of two sorted runs is a merge; np.delete and np.insert cost several
        times more at the few hundred movers of a week at 20,000 people)."""
        was, now = self._group_of[from_state], self._group_of[to_state]
        changed = np.flatnonzero(was != now)  # most moves touch no roster (absent -> work)
        if not changed.size:
            return
        who, was, now = moved[changed], was[changed], now[changed]
        touched = np.bincount(np.concatenate([was, now]) + 1, minlength=len(self._names) + 1)
        for g in np.flatnonzero(touched[1:]).tolist():
            name = self._names[g]
            members = self._members[name]
            leaving = who[was == g]
            if leaving.size:
                keep = np.ones(members.size, dtype=bool)
                keep[np.searchsorted(members, leaving)] = False
                members = members[keep]
            joining = who[now == g]
            if joining.size:
                members = np.concatenate([members, joining])
                members.sort(kind="stable")
            self._members[name] = members

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
    """Sorted people of each named group of state codes."""

    def __init__(self, state: np.ndarray, groups: dict[str, tuple[int, ...]], n_states: int):
        self._inside = {}
        self._members = {}
        for name, codes in groups.items():
            inside = np.zeros(n_states, dtype=bool)
            inside[list(codes)] = True
            self._inside[name] = inside
            self._members[name] = np.flatnonzero(inside[state])

    def __getitem__(self, name: str) -> np.ndarray:
        return self._members[name]

    def move(self, moved: np.ndarray, from_state: np.ndarray, to_state: np.ndarray) -> None:
        """People ``moved`` went from ``from_state`` to ``to_state`` this week."""
        for name, inside in self._inside.items():
            was, now = inside[from_state], inside[to_state]
            members = self._members[name]
            leaving = np.sort(moved[was & ~now])
            if leaving.size:
                members = np.delete(members, np.searchsorted(members, leaving))
            joining = np.sort(moved[now & ~was])
            if joining.size:
                members = np.insert(members, np.searchsorted(members, joining), joining)
            self._members[name] = members

"""Who is in which state, kept from week to week (the vectorised engine).

Finding the people of a state by scanning every person's state each week costs a pass over
the whole population for the few out of work (issue 19). A roster holds the people in a
group of states, in no particular order, updated from each week's moves only: a leaver's
slot takes one of the roster's last members, a joiner goes at the end, so a week costs its
movers, not the roster (sorted rosters, merged each week, cost passes over every roster
touched: ~0.6 ms a week at 1M people with ~100,000 out of work).

>>> import numpy as np
>>> r = Rosters(np.array([0, 3, 3, 1], dtype=np.int8), {"unemployed": (3,)}, n_states=7)
>>> r.move(np.array([0, 1]), np.array([0, 3]), np.array([3, 0]))
>>> sorted(r["unemployed"].tolist())
[0, 2]
"""

from __future__ import annotations

import numpy as np


def fill_holes(holes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Removing the rows ``holes`` (distinct positions below ``size``) from an unordered
    table of ``size`` rows without copying it: the rows ``tail`` move into the positions
    ``inside`` (``table[inside] = table[tail]``), and the table then has ``size -
    len(holes)`` rows. Holes in the last rows are simply dropped.

    >>> inside, tail = fill_holes(np.array([1, 4]), 5)
    >>> inside.tolist(), tail.tolist()
    ([1], [3])
    """
    end = size - holes.size
    dropped = np.zeros(holes.size, dtype=bool)  # tail rows that are holes themselves
    dropped[holes[holes >= end] - end] = True
    return holes[holes < end], np.arange(end, size)[~dropped]


class Rosters:
    """The people of each named group of state codes (groups do not overlap), each group's
    in no particular order (``roster[name]``, a view valid until the next move)."""

    def __init__(self, state: np.ndarray, groups: dict[str, tuple[int, ...]], n_states: int):
        self._names = list(groups)
        self._group_of = np.full(n_states, -1, dtype=np.int8)  # state code -> group (-1: none)
        self._members: dict[str, np.ndarray] = {}  # with room to grow: [0, size) in use
        self._size: dict[str, int] = {}
        self._slot = np.full(state.size, -1, dtype=np.int32)  # position in the person's roster
        for g, (name, codes) in enumerate(groups.items()):
            if (self._group_of[list(codes)] >= 0).any():
                raise ValueError(f"roster {name!r} overlaps another")
            self._group_of[list(codes)] = g
            members = np.flatnonzero(self._group_of[state] == g)
            self._members[name], self._size[name] = members, members.size
            self._slot[members] = np.arange(members.size, dtype=np.int32)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._members[name][:self._size[name]]

    def positions(self, name: str, people: np.ndarray) -> np.ndarray:
        """Positions in roster ``name`` of those of ``people`` who are in it."""
        slot = self._slot[people]
        members = self[name]
        inside = ((slot >= 0) & (slot < members.size)).nonzero()[0]
        slot = slot[inside]
        return slot[members[slot] == people[inside]]

    def move(self, moved: np.ndarray, from_state: np.ndarray, to_state: np.ndarray) -> None:
        """People ``moved`` went from ``from_state`` to ``to_state`` this week. Only the
        rosters someone left or joined change: every roster's leavers go first (their
        slots are read), then the joiners."""
        was, now = self._group_of[from_state], self._group_of[to_state]
        changed = (was != now).nonzero()[0]  # most moves touch no roster (absent -> work)
        if not changed.size:
            return
        who, was, now = moved[changed], was[changed], now[changed]
        for g in self._groups_in(was):
            self._remove(self._names[g], who[was == g])
        for g in self._groups_in(now):
            self._append(self._names[g], who[now == g])

    def _groups_in(self, codes: np.ndarray) -> list[int]:
        """The groups among ``codes`` (-1: none), ascending (a bincount: np.unique sorts,
        several times its cost on a week's few movers)."""
        counts = np.bincount(codes.astype(np.intp) + 1, minlength=len(self._names) + 1)
        return counts[1:].nonzero()[0].tolist()

    def _remove(self, name: str, leaving: np.ndarray) -> None:
        """Holes left by ``leaving`` below the new end take the members after it."""
        members = self._members[name]
        inside, tail = fill_holes(self._slot[leaving], self._size[name])
        members[inside] = members[tail]
        self._slot[members[inside]] = inside
        self._slot[leaving] = -1
        self._size[name] -= leaving.size

    def _append(self, name: str, joining: np.ndarray) -> None:
        members, size = self._members[name], self._size[name]
        if size + joining.size > members.size:  # grow (doubling)
            grown = np.empty(max(size + joining.size, 2 * members.size), dtype=members.dtype)
            grown[:size] = members[:size]
            self._members[name] = members = grown
        members[size:size + joining.size] = joining
        self._slot[joining] = np.arange(size, size + joining.size, dtype=np.int32)
        self._size[name] = size + joining.size

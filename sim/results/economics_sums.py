"""Array kernels of the economics table: per-person weighted sums over states and years,
and the per-group running sums, each the same to the bit as the plain numpy expressions
they replace (issue 19: the economics table was the largest of a run's tables).

Floating-point addition is not associative, so every value is built from the same
operations, in the same order, as before; what changes is the work around them:

* :func:`weighted_weeks`: ``sum_b weeks[b] * coefficient[b][kind]`` for several measures
  at once, into buffers reused across terms (no fresh ``[years x people]`` temporary per
  product), skipping terms whose coefficient is zero for every kind and, for a term with
  few non-zero weeks, its zero weeks (adding ``w * 0.0`` or ``0.0 * c``, a zero, to a sum
  that starts at ``+0.0`` changes no bit: only ``-0.0 + -0.0`` is ``-0.0``, so such a sum
  is never ``-0.0``), and multiplying by a scalar when both kinds share the coefficient
  (the same products);
* :func:`discounted`: ``(x * disc).sum(axis=0)`` reusing ``x``'s buffer;
* :class:`StackedCells`: the running sums of a measure over the cells of several
  dimensions (side by side), added in person order within every cell with ``np.add.at``
  (as one ``np.bincount`` over everyone), without the copies of the values that a
  ``np.bincount`` with the running sums first needs; people whose value is zero are left
  out when most are; :meth:`StackedCells.count`: people, followed and returned per cell
  from integer ``np.bincount`` (counts are whole numbers: exact in any order).
"""

from __future__ import annotations

import numpy as np

# A term goes the sparse way (only its non-zero weeks) when fewer than 1 in this many (4) of
# its [year x person] weeks are non-zero: a gathered element costs a few dense ones.
SPARSE_BELOW = 4


def nonzero_at(wk: np.ndarray) -> np.ndarray | None:
    """The flat indices of ``wk``'s non-zero elements when they are few (fewer than 1 in
    :data:`SPARSE_BELOW`; possibly none), else None (add it densely)."""
    nonzero = wk != 0
    count = np.count_nonzero(nonzero)
    if count == 0:
        return np.empty(0, dtype=np.intp)
    return np.flatnonzero(nonzero) if count * SPARSE_BELOW < wk.size else None


def weighted_weeks(weeks: list[np.ndarray], coefficients: np.ndarray,
                   kind: np.ndarray | None = None, at: list | None = None) -> np.ndarray:
    """``out[j] = 0.0 + weeks[0] * c[0, j][kind] + weeks[1] * c[1, j][kind] + ...``, added
    term by term in that order, for each measure ``j``.

    ``weeks``: arrays ``[years x people]`` (one per term); ``coefficients``: ``[terms x
    measures x kinds]``; ``kind``: each person's kind (an index into the last axis; None
    when every term's coefficients are the same for all kinds); ``at``: for each term, its
    weeks' :func:`nonzero_at` (None: added densely), when already worked out (e.g. a
    state's weeks, used by several sums); else worked out here.

    Returns ``[measures x years x people]`` float64, the same to the bit as the loop
    ``out[j] = np.zeros(...); for b: out[j] += weeks[b] * coefficients[b, j][kind]``: a
    product ``w * c`` that is zero (``w`` or ``c`` zero, both finite) is not added, as
    adding a zero leaves a sum that starts at +0.0 unchanged (only ``-0.0 + -0.0`` is
    ``-0.0``); a term with few non-zero weeks (:func:`nonzero_at`) is added at those weeks
    only.
    """
    n_terms, n_measures, _ = coefficients.shape
    if len(weeks) != n_terms:
        raise ValueError(f"{len(weeks)} week arrays for {n_terms} terms")
    if kind is None and not (coefficients == coefficients[..., :1]).all():
        raise ValueError("coefficients differ by kind: each person's kind is needed")
    shape = np.shape(weeks[0])
    out = np.zeros((n_measures, *shape))
    flat = out.reshape(n_measures, -1)
    tmp = np.empty(shape)
    skip_zero_weeks = bool(np.isfinite(coefficients).all())
    # each term's measures with a non-zero coefficient, found for all terms at once (issue
    # 19: a numpy call per term and measure was ~0.2 ms of each chunk of people)
    nonzero = coefficients.any(axis=2).tolist()
    for b, wk in enumerate(weeks):
        terms = [(j, coefficients[b, j]) for j in range(n_measures) if nonzero[b][j]]
        if not terms:
            continue
        if skip_zero_weeks:
            where = at[b] if at is not None else nonzero_at(wk)
            if where is not None:
                _add_sparse(flat, terms, np.ravel(wk)[where], where, kind, shape[-1])
                continue
        for j, c in terms:
            if (c == c[0]).all():
                np.multiply(wk, c[0], out=tmp)  # the same products as by c[kind]
            else:
                np.multiply(wk, c[kind], out=tmp)
            np.add(out[j], tmp, out=out[j])
    return out


def _add_sparse(flat: np.ndarray, terms: list, w: np.ndarray, at: np.ndarray,
                kind: np.ndarray | None, n_people: int) -> None:
    """``flat[j, at] += w * c[kind of at]`` for each (j, c) of ``terms`` (``at``: flat
    indices into ``[years x people]``, each once)."""
    at_kind = None
    for j, c in terms:
        if (c == c[0]).all():
            product = w * c[0]
        else:
            if at_kind is None:
                at_kind = kind[at % n_people]
            product = w * c[at_kind]
        np.add.at(flat[j], at, product)  # each index once: flat[j, at] + product


def state_sums(weeks: dict, weights: list[dict], states, at: dict | None = None) -> np.ndarray:
    """``sum(weeks[s] * w[s] for s in states)`` (Python's ``sum``: ``0 + ...``) for each
    ``w`` of ``weights``, to the bit (:func:`weighted_weeks`, one coefficient per state;
    ``at``: :func:`nonzero_at` by state, if known)."""
    coefficients = np.array([[[float(w[s])] for w in weights] for s in states])
    return weighted_weeks([weeks[s] for s in states], coefficients,
                          at=None if at is None else [at[s] for s in states])


def discounted(x: np.ndarray, disc: np.ndarray) -> np.ndarray:
    """``(x * disc).sum(axis=0)`` to the bit, with ``x`` (C-contiguous ``[years x
    people]``, no longer needed) as the product's buffer."""
    np.multiply(x, disc, out=x)
    return x.sum(axis=0)


# People with a value of zero are left out of a measure's sums (adding a zero changes no
# sum that starts at +0.0) when fewer than 1 in this many (2) people have another value.
SPARSE_SUMS_BELOW = 2


class StackedCells:
    """The cells of several dimensions side by side (dimension ``d``'s offset by the sizes
    before it), for :meth:`add`: a chunk of people added to the running sums of every
    dimension's cells."""

    def __init__(self, cells: list[np.ndarray], sizes: list[int]):
        offsets = np.cumsum([0, *sizes], dtype=np.int64)[:-1]
        self.size = int(sum(sizes))
        self.people = len(cells[0]) if cells else 0
        # one new array a dimension (no astype copy first: issue 19)
        self.cells = [np.asarray(c, dtype=np.intp) + o
                      for c, o in zip(cells, offsets, strict=True)]

    def count(self, followed: np.ndarray, returned: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """People, followed and returned (``returned`` implies ``followed``) in every
        dimension's cells (side by side), as float64: the values of ``np.bincount(cell,
        weights=x)`` of each dimension, with the person's code (0, 1 or 2) worked out once
        for all of them (issue 19: it was worked out again for each dimension)."""
        code = followed.astype(np.intp) + (followed & returned)
        counts = np.zeros(3 * self.size, dtype=np.int64)
        for c in self.cells:
            key = c * 3
            key += code
            counts += np.bincount(key, minlength=3 * self.size)
        counts = counts.reshape(self.size, 3)
        n = counts.sum(axis=1).astype(float)
        return n, (counts[:, 1] + counts[:, 2]).astype(float), counts[:, 2].astype(float)

    def add(self, totals: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``totals`` (every dimension's running sums) plus ``values`` (one per person)
        added person by person, in order, into each dimension's cell:
        ``np.add.at(totals[dim], cell[dim], values)`` for every dimension (unbuffered, in
        index order: the same to the bit as one ``np.bincount`` over everyone; in numpy 2
        with ``intp`` cells and float64 values it is as fast as ``np.bincount``, and needs
        no copies of the values). Mostly-zero ``values`` are added at their non-zero
        people only (:data:`SPARSE_SUMS_BELOW`)."""
        if len(totals) != self.size or len(values) != self.people:
            raise ValueError(f"{len(totals)} sums, {len(values)} values for {self.size} "
                             f"cells and {self.people} people")
        cells = self.cells
        nonzero = values != 0
        if np.count_nonzero(nonzero) * SPARSE_SUMS_BELOW < len(values):
            at = np.flatnonzero(nonzero)
            cells = [c[at] for c in cells]
            values = values[at]
        out = np.array(totals, dtype=float)
        values = np.asarray(values, dtype=float)
        for c in cells:
            np.add.at(out, c, values)
        return out

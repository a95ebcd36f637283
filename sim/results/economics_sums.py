"""Array kernels of the economics table: per-person weighted sums over states and years,
and the per-group running sums, each the same to the bit as the plain numpy expressions
they replace (issue 19: the economics table was the largest of a run's tables).

Floating-point addition is not associative, so every value is built from the same
operations, in the same order, as before; what changes is the work around them:

* :func:`weighted_weeks`: ``sum_b weeks[b] * coefficient[b][kind]`` for several measures
  at once, into buffers reused across terms (no fresh ``[years x people]`` temporary per
  product, which cost page faults), skipping terms whose coefficient is zero for every
  kind (adding ``w * 0.0``, a zero, to a sum that starts at ``+0.0`` changes no bit: only
  ``-0.0 + -0.0`` is ``-0.0``, so such a sum is never ``-0.0``), and multiplying by a
  scalar when both kinds share the coefficient (the same products);
* :func:`discounted`: ``(x * disc).sum(axis=0)`` reusing ``x``'s buffer;
* :func:`add_measures_in_order`: the running sums of many measures over the cells of
  several dimensions in one ``np.bincount`` per measure (the bins of the dimensions side by
  side), in person order within every bin, as one ``np.bincount`` over everyone;
* :func:`count_cells`: people, followed and returned per cell from one integer
  ``np.bincount`` (counts are whole numbers: exact in any order).
"""

from __future__ import annotations

import numpy as np

# A term goes the sparse way (only its non-zero weeks) when fewer than 1 in this many (8) of
# its [year x person] weeks are non-zero: a gathered element costs a few dense ones.
SPARSE_BELOW = 8


def weighted_weeks(weeks: list[np.ndarray], coefficients: np.ndarray,
                   kind: np.ndarray | None = None) -> np.ndarray:
    """``out[j] = 0.0 + weeks[0] * c[0, j][kind] + weeks[1] * c[1, j][kind] + ...``, added
    term by term in that order, for each measure ``j``.

    ``weeks``: arrays ``[years x people]`` (one per term); ``coefficients``: ``[terms x
    measures x kinds]``; ``kind``: each person's kind (an index into the last axis; None
    when every term's coefficients are the same for all kinds). Returns ``[measures x
    years x people]`` float64, the same to the bit as the loop ``out[j] = np.zeros(...);
    for b: out[j] += weeks[b] * coefficients[b, j][kind]``: a product ``w * c`` that is
    zero (``w`` or ``c`` zero, both finite) is not added, as adding a zero leaves a sum
    that starts at +0.0 unchanged (only ``-0.0 + -0.0`` is ``-0.0``); a term with few
    non-zero weeks (:data:`SPARSE_BELOW`) is added at those weeks only.
    """
    n_terms, n_measures, _ = coefficients.shape
    if len(weeks) != n_terms:
        raise ValueError(f"{len(weeks)} week arrays for {n_terms} terms")
    shape = np.shape(weeks[0])
    out = np.zeros((n_measures, *shape))
    flat = out.reshape(n_measures, -1)
    tmp = np.empty(shape)
    skip_zero_weeks = bool(np.isfinite(coefficients).all())
    for b, wk in enumerate(weeks):
        terms = [(j, coefficients[b, j]) for j in range(n_measures) if coefficients[b, j].any()]
        if not terms:
            continue
        if skip_zero_weeks:
            nonzero = wk != 0
            count = np.count_nonzero(nonzero)
            if count == 0:
                continue
            if count * SPARSE_BELOW < wk.size:
                at = np.flatnonzero(nonzero)
                _add_sparse(flat, terms, np.ravel(wk)[at], at, kind, shape[-1])
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
        row = flat[j]
        row[at] = row[at] + product


def state_sums(weeks: dict, weights: list[dict], states) -> np.ndarray:
    """``sum(weeks[s] * w[s] for s in states)`` (Python's ``sum``: ``0 + ...``) for each
    ``w`` of ``weights``, to the bit (:func:`weighted_weeks`, one coefficient per state)."""
    coefficients = np.array([[[float(w[s])] for w in weights] for s in states])
    return weighted_weeks([weeks[s] for s in states], coefficients)


def discounted(x: np.ndarray, disc: np.ndarray) -> np.ndarray:
    """``(x * disc).sum(axis=0)`` to the bit, with ``x`` (C-contiguous ``[years x
    people]``, no longer needed) as the product's buffer."""
    np.multiply(x, disc, out=x)
    return x.sum(axis=0)


def count_cells(cell: np.ndarray, cells: int, followed: np.ndarray,
                returned: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """People, followed and returned (``returned`` implies ``followed``) in each of
    ``cells`` cells, as float64: the values of ``np.bincount(cell, weights=x)``."""
    code = followed.astype(np.int64) + (followed & returned)
    counts = np.bincount(cell * 3 + code, minlength=3 * cells).reshape(cells, 3)
    n = counts.sum(axis=1).astype(float)
    return n, (counts[:, 1] + counts[:, 2]).astype(float), counts[:, 2].astype(float)


def stacked_cells(cells: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """The bins of :func:`add_measures_in_order`: every running sum's bin first
    (``0..sum(sizes)-1``), then each person's bin in each dimension, dimension by
    dimension (dimension ``d``'s bins offset by the sizes before it)."""
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return np.concatenate([np.arange(sum(sizes), dtype=np.int64),
                           *(c + o for c, o in zip(cells, offsets, strict=True))])


def add_measures_in_order(totals: np.ndarray, stacked: np.ndarray, values: np.ndarray,
                          n_dims: int) -> np.ndarray:
    """``totals`` (the running sums of ``n_dims`` dimensions' cells side by side, as
    :func:`stacked_cells`) plus ``values`` (one per person) added person by person, in
    order, into each dimension's cell: ``np.add.at(totals[dim], cell[dim], values)`` for
    every dimension, to the bit, in one ``np.bincount`` (which adds its weights in input
    order; each bin's running sum goes in first)."""
    lo, n = len(totals), len(values)
    weights = np.empty(lo + n_dims * n)
    weights[:lo] = totals
    for d in range(n_dims):
        weights[lo + d * n:lo + (d + 1) * n] = values
    return np.bincount(stacked, weights=weights, minlength=lo)

"""The explorer's layered figures (sim.explorer.figures): a new lever value redraws only the
design's lines and bars over a kept background, and what it shows is what a fresh figure
shows."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from sim.explorer import figures
from sim.explorer.adapter import ExplorerModel, clear_caches


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_nice_limit_is_the_next_step_at_or_above():
    assert figures.nice_limit(1.0) == 1.0
    assert figures.nice_limit(1.01) == 1.5
    assert figures.nice_limit(0.021) == pytest.approx(0.03)
    assert figures.nice_limit(15_540) == 20_000
    assert figures.nice_limit(0) == 0 and figures.nice_limit(-3) == 0
    assert figures.nice_limit(float("nan")) == 0


def test_span_covers_the_values_and_zero():
    for values in ([0.2, 2.7], [-1.3, 0.4], [-40.0, -2.0], [0.0], [], [np.nan, 3.0]):
        lo, hi = figures.span(values)
        finite = [v for v in values if np.isfinite(v)]
        assert lo <= min(finite + [0.0]) and hi >= max(finite + [0.0])
        assert hi - lo >= 1.0
    assert figures.span([1.9]) == (0.0, 2.0)  # 1.9 plus 5% is under 2


def test_a_kept_background_draws_what_a_fresh_figure_draws():
    """Draw one design, then another over the kept background: the second picture is
    the one a fresh figure gives (nothing of the first design's lines is left), and the
    first is drawn again exactly (the kept background is not drawn over). (~4 CPU-s: three
    arms at 500 people and four figures drawn from scratch; it needs real runs.)"""
    clear_caches()
    figures.clear()
    one = ExplorerModel(n="500", replicates="1").outcome
    two = ExplorerModel(n="500", replicates="1", refer_at_week="12").outcome
    first = {k: f(one) for k, f in (("curves", figures.curves_png),
                                   ("costs", figures.costs_png))}
    second = {k: f(two) for k, f in (("curves", figures.curves_png),
                                    ("costs", figures.costs_png))}
    assert len(figures._LAYERS._done) == 2  # one figure each for curves and costs
    for key, make in (("curves", figures.curves_png), ("costs", figures.costs_png)):
        assert not np.array_equal(_pixels(first[key]), _pixels(second[key]))
        assert np.array_equal(_pixels(make(one)), _pixels(first[key]))
        figures.clear()
        assert np.array_equal(_pixels(make(two)), _pixels(second[key]))

"""The explorer's layered figures (sim.explorer.figures): a new lever value redraws only the
design's lines and bars over a kept background, and what it shows is what a fresh figure
shows."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from sim.explorer import figures
from sim.explorer.adapter import ExplorerModel, clear_caches, curves_view, design_label


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


def test_kept_legends_are_the_legends_drawn_over_the_lines():
    """The curves' legends are kept as pixels (drawn once over the background) and pasted
    over the design's lines: the picture is the one drawing the legends over the lines
    gives, but for a ring of a few pixels at each legend's edge (anti-aliased frame, kept
    margin). A misplaced paste (another place, the y axis flipped) or a legend left out
    fails. (~2 CPU-s: one arm pair at 500 people.)"""
    clear_caches()
    figures.clear()
    outcome = ExplorerModel(n="500", replicates="1", refer_at_week="6").outcome
    kept = _pixels(figures.curves_png(outcome))
    (layers,) = figures._LAYERS._done.values()
    assert layers.opaque_on_top and len(layers.on_top) == 2
    layers.opaque_on_top = False  # draw the legends over the lines, as a full draw does
    layers.backgrounds.clear()
    drawn = _pixels(figures.curves_png(outcome))
    height = drawn.shape[0]
    ring = np.zeros(drawn.shape[:2], dtype=bool)
    renderer = layers.canvas.get_renderer()
    for legend in layers.on_top:
        box = legend.get_window_extent(renderer)
        outer, inner = box.padded(4), box.padded(-3)
        rows = slice(int(height - outer.y1), int(np.ceil(height - outer.y0)))
        cols = slice(int(outer.x0), int(np.ceil(outer.x1)))
        ring[rows, cols] = True
        ring[int(np.ceil(height - inner.y1)):int(height - inner.y0),
             int(np.ceil(inner.x0)):int(inner.x1)] = False
    assert ring.sum() < 0.05 * ring.size
    assert np.array_equal(kept[~ring], drawn[~ring])
    figures.clear()


def test_the_two_difference_panels_share_limits_covering_both_rows():
    """One scale for the gains by IMD quintile and by ethnic group (so a new lever value
    needs a new background only when the widest gain crosses a step), covering every
    group's difference in both rows. (~1 CPU-s: two arms at 500 people; with seed 2 the
    rows' own limits would differ: 10 and 20 points.)"""
    outcome = ExplorerModel(n="500", replicates="1", seed="2").outcome
    design = outcome.design.config["programme"]["name"]
    rows = figures._curves_data(outcome, design, same=False)
    diff_limits = {limits[1] for _, _, limits in rows}
    assert len(diff_limits) == 1
    (lo, hi), = diff_limits
    for _, des, _ in rows:
        for part in des.values():
            d = 100 * part["vs_usual_care"]
            assert lo <= d.min() and d.max() <= hi


def _full_draw(layers) -> np.ndarray:
    """The figure drawn in one pass, as without layers (every artist, nothing kept)."""
    animated = layers.scaled + [a for a, _ in layers.design] + list(layers.on_top)
    for artist in animated:
        artist.set_animated(False)
    try:
        buf = io.BytesIO()
        layers.canvas.print_png(buf)
        return _pixels(buf.getvalue())
    finally:
        for artist in animated:
            artist.set_animated(True)


def test_new_axis_limits_redraw_only_the_scaled_layer_and_match_a_full_draw():
    """A gain crossing a step of the difference panels' limits draws the data axes and
    usual care's lines over the kept static pixels (no full draw of the figure), and the
    picture is the one a fresh figure gives at those limits (nothing of the earlier
    limits' ticks or lines is left) and, left of each panel (tick labels and axis label),
    the one a full draw gives; inside the panels only where lines and gridlines cross is
    the drawing order different. (~2 CPU-s: two arms at 500 people.)"""
    clear_caches()
    figures.clear()
    outcome = ExplorerModel(n="500", replicates="1", refer_at_week="6").outcome
    design = outcome.design.config["programme"]["name"]
    figures.curves_png(outcome)
    (layers,) = figures._LAYERS._done.values()
    rows = figures._curves_data(outcome, design, same=False)
    limits = [lim for _, _, row in rows for lim in row]
    other = tuple((lo, 2 * hi) if k % 2 else (lo, hi) for k, (lo, hi) in enumerate(limits))
    assert other != tuple(limits)
    data = [(artist.get_xdata(), artist.get_ydata()) for artist, _ in layers.design]
    assert layers.full_draws == 1
    kept = _pixels(layers.png(other, data))
    assert layers.full_draws == 1 and len(layers.backgrounds) == 2
    fresh = figures._curves_background(outcome, design, design_label(design), False, rows)
    assert np.array_equal(_pixels(fresh.png(other, data)), kept)
    full = _full_draw(layers)
    width = full.shape[1]
    for ax, _ in layers.axes:
        x0 = int(ax.get_window_extent().x0)
        left = slice(max(0, x0 - int(0.07 * width)), x0 - 2)  # tick labels and the label
        assert np.array_equal(kept[:, left], full[:, left])
    assert np.any(kept != full, axis=2).mean() < 0.02
    figures.clear()


def test_the_costs_legend_is_static_and_clear_of_the_bars():
    """The costs figure's legend is above the axes, in the static pixels (drawn once per
    figure, not for every lever value), so it can never hide the end of a bar."""
    clear_caches()
    figures.clear()
    outcome = ExplorerModel(n="500", replicates="1").outcome
    figures.costs_png(outcome)
    (layers,) = figures._LAYERS._done.values()
    assert layers.on_top == [] and len(layers.fig.legends) == 1
    legend = layers.fig.legends[0]
    assert not legend.get_animated()
    assert [t.get_text() for t in legend.get_texts()] == ["usual care", "multicomponent"]
    renderer = layers.canvas.get_renderer()
    axes = layers.axes[0][0].get_window_extent(renderer)
    assert legend.get_window_extent(renderer).y0 >= axes.y1
    figures.clear()


def test_an_opaque_figure_is_saved_as_rgb_with_the_canvas_pixels():
    """An opaque figure's PNG is RGB (3/4 of the bytes to compress) and holds exactly the
    pixels drawn; and the figure's curves, split by design and group on numpy columns, are
    pandas' split of the page's curves table."""
    clear_caches()
    figures.clear()
    outcome = ExplorerModel(n="500", replicates="1").outcome
    image = Image.open(io.BytesIO(figures.curves_png(outcome)))
    (layers,) = figures._LAYERS._done.values()
    canvas = np.asarray(layers.canvas.buffer_rgba())
    assert image.mode == "RGB" and (canvas[..., 3] == 255).all()
    assert np.array_equal(np.asarray(image), canvas[..., :3])
    for dim in ("imd_quintile", "ethnicity"):
        mine = figures._by_design_group(figures.curve_arrays(outcome, dim))
        view = curves_view(outcome, dim)
        theirs = dict(iter(view.groupby(["design", "group"], sort=False)))
        assert list(mine) == list(theirs) and len(mine) > 2
        for key, part in theirs.items():
            for col in ("week", "share", "vs_usual_care"):
                np.testing.assert_array_equal(mine[key][col], part[col].to_numpy())
    figures.clear()

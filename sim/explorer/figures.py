"""The explorer's full-run figures (RTW curves by group, costs by perspective) as PNG, drawn
in two layers so a new design or lever value redraws only what it changed.

Drawing a matplotlib figure from scratch is most of the cost of a figure (axes, ticks,
text: ~0.2 CPU-s for the curves figure at any population size), and a lever value changes
only the design's lines and bars: usual care, the axes, the titles and the legend stay.
So each figure is kept in layers (:class:`_Layers`): the **static** pixels (titles,
frames, the axis whose limits are fixed: drawn once per figure), the **scaled** artists
of the axes whose limits follow the data (the data axis with its ticks, gridlines and
labels, and usual care's lines and bars: drawn over a copy of the static pixels for each
set of limits, ~30-50 CPU-ms for the curves, and kept as that limits' **background**) and
the design's artists, drawn over a copy of a background (matplotlib's blitting:
``restore_region`` then ``draw_artist``). A figure is kept per usual-care arm (its config
hash) and design (name and label); the axis limits are fixed steps (:func:`nice_limit`)
wide enough for the values shown, not autoscaled, so nearby lever values share a
background, and a value whose gain crosses a step redraws only the scaled artists, not
the figure. The legend is drawn last, over the lines, as in a full draw; the curves'
legends are opaque, so their pixels are kept too.

Figures are shared by every page session; one lock per figure (a matplotlib figure is not
thread-safe).
"""

from __future__ import annotations

import io
import math
import threading
from collections import OrderedDict

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from PIL import Image

from sim.engine.categories import ETHNICITIES, ETHNICITY_LABELS
from sim.explorer.runs import _Memo
from sim.explorer.scenario import REFERENCE
from sim.explorer.views import costs_view, curve_arrays, design_label
from sim.results.manifest import config_hash

# Okabe-Ito, as the HTML report
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
# figure margins (fixed: tight_layout would draw each figure once more, ~40% of its cost;
# these are what it chose for the default view)
MARGINS = {
    "states": dict(left=0.104, right=0.979, bottom=0.187, top=0.889, wspace=0.067),
    "curves": dict(left=0.091, right=0.981, bottom=0.1, top=0.944, wspace=0.211, hspace=0.163),
    "costs": dict(left=0.155, right=0.979, bottom=0.199, top=0.87),  # (legend above)
}
FIGURES_KEPT = 8  # figures kept (each ~1.5 MB of pixels per set of limits)
LIMITS_PER_FIGURE = 4
_STEPS = (1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


def nice_limit(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 5 x 10^k at or above ``value`` (> 0);
    0 for 0 or less."""
    if not (value > 0 and math.isfinite(value)):
        return 0.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in _STEPS:
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10.0 * power


def span(values, margin: float = 0.05, least: float = 1.0) -> tuple[float, float]:
    """Axis limits covering ``values`` and 0, each side a :func:`nice_limit` of the extreme
    plus ``margin`` (a side with nothing beyond 0 stays at 0; at least ``least`` wide)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    lo = -nice_limit(-(1 + margin) * v.min()) if v.size and v.min() < 0 else 0.0
    hi = nice_limit((1 + margin) * v.max()) if v.size and v.max() > 0 else 0.0
    if hi - lo < least:
        hi = lo + least
    return lo, hi


class _Layers:
    """One figure: its backgrounds (pixels, one per set of axis limits) and the design's
    artists drawn over one of them.

    Three layers: the **static** pixels (titles, the other axis, frames, text: everything
    that does not depend on the data limits; one full draw per figure, ~0.2 CPU-s for the
    curves), the **scaled** artists of each axes whose limits follow the data (its data
    axis with gridlines, tick labels and label, and usual care's lines and bars: drawn over
    a copy of the static pixels for each new set of limits, so a gain crossing a step of
    :func:`nice_limit` costs tens of CPU-ms, not a full draw) and the design's artists
    (drawn for every picture). Each set of limits' background (static plus scaled) is
    kept as pixels. A background is always drawn the same way (static pixels, then the
    scaled artists in z-order), so a picture does not depend on which limits were seen
    before.

    ``opaque_on_top``: the artists drawn last (legends) cover their box fully (an opaque
    frame at a fixed place), so their pixels do not depend on the design's artists below
    them: they are drawn once per set of limits of their own axes and kept as pixels too
    (drawing the curves' two legends is ~60 CPU-ms, most of a new lever value's figure;
    pasting them back ~0.1 ms).
    """

    def __init__(self, fig: Figure, axes: list, design_artists: list, on_top: list,
                 opaque_on_top: bool = False):
        self.fig = fig
        self.canvas = FigureCanvasAgg(fig)
        self.axes = axes  # (axes, "x" or "y"): the axes whose limits follow the data
        self.design = design_artists  # (artist, update(artist, data)) pairs
        self.on_top = on_top  # drawn after the design's artists (legends)
        self.opaque_on_top = opaque_on_top
        for artist, _ in design_artists:
            artist.set_animated(True)
        for artist in on_top:
            artist.set_animated(True)
        self.scaled = _scaled_artists(axes, {id(a) for a, _ in design_artists})
        for artist in self.scaled:
            artist.set_animated(True)
        self.static = None  # pixels of everything but the animated artists
        self.backgrounds: OrderedDict = OrderedDict()  # limits -> pixels
        # the on-top artists' pixels, by the limits of the axes they are in
        self._on_top_axes = [i for i, (ax, _) in enumerate(axes)
                             if any(a.axes is ax for a in on_top)]
        self.on_top_pixels: OrderedDict = OrderedDict()
        # an opaque figure (its background fully opaque) is saved as RGB: the same pixels
        self.opaque = fig.get_facecolor()[3] == 1.0
        self.full_draws = 0  # full draws of the figure (tests)
        self.scaled_draws = 0  # backgrounds drawn: new sets of limits (tests, the bench)
        self.lock = threading.Lock()

    def _background(self, limits: tuple):
        """The pixels of everything but the design's artists with these axis limits (the
        static pixels, then the scaled artists over them; a full draw of the figure only
        the first time), and those of the artists on top if they are kept (else None)."""
        for (ax, which), lim in zip(self.axes, limits, strict=True):  # (the lines' scale)
            (ax.set_xlim if which == "x" else ax.set_ylim)(*lim)
        if limits in self.backgrounds:
            self.backgrounds.move_to_end(limits)
            background = self.backgrounds[limits]
        else:
            if self.static is None:
                self.canvas.draw()  # (skips every animated artist)
                self.full_draws += 1
                self.static = self.canvas.copy_from_bbox(self.fig.bbox)
            else:
                self.canvas.restore_region(self.static)
            for artist in self.scaled:
                artist.axes.draw_artist(artist)
            self.scaled_draws += 1
            background = self.backgrounds[limits] = self.canvas.copy_from_bbox(self.fig.bbox)
            while len(self.backgrounds) > LIMITS_PER_FIGURE:
                self.backgrounds.popitem(last=False)
        return background, self._on_top(limits, background)

    def _on_top(self, limits: tuple, background):
        """The kept pixels of the artists on top (drawn over ``background`` the first time
        their axes have these limits), or None if they are drawn every time."""
        if not self.opaque_on_top:
            return None
        key = tuple(limits[i] for i in self._on_top_axes)
        kept = self.on_top_pixels.get(key)
        if kept is None:
            self.canvas.restore_region(background)
            renderer = self.canvas.get_renderer()
            kept = []
            for artist in self.on_top:
                artist.axes.draw_artist(artist)
                kept.append(self.canvas.copy_from_bbox(
                    artist.get_window_extent(renderer).padded(2)))
            self.on_top_pixels[key] = kept
            while len(self.on_top_pixels) > LIMITS_PER_FIGURE:
                self.on_top_pixels.popitem(last=False)
        return kept

    def png(self, limits: tuple, data: list) -> bytes:
        """The figure with these axis limits (one pair per entry of ``axes``) and the
        design's artists set from ``data`` (one item per artist)."""
        with self.lock:
            background, on_top = self._background(limits)
            self.canvas.restore_region(background)
            for (artist, update), item in zip(self.design, data, strict=True):
                update(artist, item)
                artist.axes.draw_artist(artist)
            if on_top is None:
                for artist in self.on_top:
                    artist.axes.draw_artist(artist)
            else:
                for pixels in on_top:
                    self.canvas.restore_region(pixels)
            width, height = self.canvas.get_width_height()
            image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(),
                                     "raw", "RGBA", 0, 1)
            if self.opaque:  # (RGB: 3/4 of the bytes to compress, ~20% less CPU)
                image = image.convert("RGB")
            buf = io.BytesIO()
            # (zlib level 1: ~16 CPU-ms for the curves instead of ~25 at the default 6,
            # the file ~4% larger)
            image.save(buf, format="png", compress_level=1)
            return buf.getvalue()


def _scaled_artists(axes: list, design: set) -> list:
    """The artists whose pixels depend on the data limits of ``axes`` (the axes' data
    axis, with its gridlines and tick labels, and its lines, bars and other patches but
    the design's), in the order a full draw draws them (z-order, then the axes' order)."""
    out = []
    for ax, which in axes:
        axis = ax.xaxis if which == "x" else ax.yaxis
        drawn = [a for a in ax.get_children()
                 if a is axis or (isinstance(a, (Line2D, Patch, Collection))
                                  and a is not ax.patch and a not in ax.spines.values()
                                  and id(a) not in design)]
        out += sorted(drawn, key=lambda a: a.get_zorder())
    return out


_LAYERS = _Memo(FIGURES_KEPT)


def _arm_key(arm) -> str:
    key = arm.__dict__.get("_hash")
    if key is None:
        key = arm.__dict__["_hash"] = config_hash(arm.config)
    return key


def _set_line(line, xy) -> None:
    line.set_data(*xy)


# ---- RTW curves by group -----------------------------------------------------------------

CURVE_ROWS = (
    ("imd_quintile", tuple(str(q) for q in range(1, 6)), "IMD quintile"),
    ("ethnicity", tuple(ETHNICITIES), "ethnic group"),
)


def _group_name(dim: str, g: str) -> str:
    return f"IMD Q{g}" if dim == "imd_quintile" else dict(ETHNICITY_LABELS)[g]


def _by_design_group(a: dict) -> dict:
    """The rows of :func:`sim.explorer.views.curve_arrays` split by (design, group), in the
    order each pair first appears (as ``DataFrame.groupby(sort=False)``); each part a dict
    of the columns week, share and vs_usual_care (numpy, rows in their order)."""
    pairs = list(zip(a["design"].tolist(), a["group"].tolist(), strict=True))
    rows: dict = {}
    for i, key in enumerate(pairs):
        rows.setdefault(key, []).append(i)
    return {key: {c: a[c][idx] for c in ("week", "share", "vs_usual_care")}
            for key, idx in rows.items()}


_NO_ROWS = {c: np.zeros(0) for c in ("week", "share", "vs_usual_care")}


def _curves_data(outcome, design: str, same: bool):
    """Per row: usual care's and the design's curves by group (dicts of numpy columns:
    week, share, vs_usual_care), and the axis limits of the levels and of the differences.
    The two difference panels share their limits (the groups' gains on one scale; and a new
    lever value then needs a new background, a full draw of ~0.1-0.2 CPU-s, only when the
    widest difference crosses a step, not when either row's does)."""
    rows, diffs = [], []
    for dim, groups, _ in CURVE_ROWS:
        by = _by_design_group(curve_arrays(outcome, dim))
        ref = {g: by[(REFERENCE, g)] for g in groups if (REFERENCE, g) in by}
        des = {} if same else {g: by.get((design, g), _NO_ROWS) for g in ref}
        diffs += [100 * d["vs_usual_care"] for d in des.values()]
        levels = [100 * d["share"] for d in (*ref.values(), *des.values())]
        top = span(np.concatenate(levels) if levels else [], least=1.0)[1]
        rows.append((ref, des, (0.0, min(100.0, top))))
    shared = span(np.concatenate(diffs) if diffs else [], least=1.0)
    return [(ref, des, (levels, shared)) for ref, des, levels in rows]


def _curves_background(outcome, design: str, label: str, same: bool, rows) -> _Layers:
    fig = Figure(figsize=(8, 6), dpi=90)
    axes = fig.subplots(2, 2, sharex=True)
    artists, legends = [], []
    weeks = [w for ref, _, _ in rows for d in ref.values() for w in (d["week"].min(),
                                                                     d["week"].max())]
    for row, ((dim, _, title), (ref, _des, _)) in enumerate(zip(CURVE_ROWS, rows,
                                                                        strict=True)):
        for k, (g, part) in enumerate(ref.items()):
            colour = PALETTE[k % len(PALETTE)]
            axes[row, 0].step(part["week"], 100 * part["share"], where="post", color=colour,
                              ls="--", lw=1)
            if not same:
                (level,) = axes[row, 0].step([], [], where="post", color=colour,
                                             label=_group_name(dim, g))
                (diff,) = axes[row, 1].step([], [], where="post", color=colour,
                                            label=_group_name(dim, g))
                artists += [(level, _set_line), (diff, _set_line)]
        axes[row, 0].set_ylabel("back at work (%)")
        axes[row, 1].set_ylabel("vs usual care (points)")
        axes[row, 1].axhline(0, color="grey", lw=0.8)
        axes[row, 0].set_title(f"by {title}: {label} (solid), usual care (dashed)",
                               fontsize=9)
        axes[row, 1].set_title("difference from usual care", fontsize=9)
        if not same:
            # (opaque, at a fixed place: kept as pixels, see _Layers)
            legends.append(axes[row, 0].legend(fontsize=6, loc="lower right",
                                               framealpha=1.0))
    if weeks:
        axes[0, 0].set_xlim(min(weeks), max(weeks))
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("weeks since the absence began")
    fig.subplots_adjust(**MARGINS["curves"])
    return _Layers(fig, [(axes[r, c], "y") for r in range(2) for c in range(2)],
                   artists, legends, opaque_on_top=True)


def curves_png(outcome) -> bytes:
    """RTW by IMD quintile and by ethnic group: levels (the design solid, usual care dashed)
    and the design's difference from usual care, in points."""
    design = outcome.design.config["programme"]["name"]
    same = outcome.design is outcome.reference
    label = design_label(design)
    rows = _curves_data(outcome, design, same)
    key = ("curves", _arm_key(outcome.reference), design, same)
    layers = _LAYERS.get(key, lambda: _curves_background(outcome, design, label, same, rows))
    data = []
    for ref, des, _ in rows:
        for g in ref:
            d = des.get(g)
            if d is None:
                continue
            data += [(d["week"], 100 * d["share"]), (d["week"], 100 * d["vs_usual_care"])]
    return layers.png(tuple(lim for _, _, row in rows for lim in row), data)


# ---- costs by perspective ----------------------------------------------------------------


def _costs_background(c, design: str, label: str, persp: list) -> _Layers:
    fig = Figure(figsize=(7, 3), dpi=90)
    ax = fig.subplots()
    y = np.arange(len(persp))
    artists = []
    for k, (arm, name) in enumerate(((REFERENCE, "usual care"), (design, label))):
        sub = c[c["design"] == arm].set_index("perspective").reindex(persp)
        if sub["level"].isna().all():
            continue
        bars = ax.barh(y + (k - 0.5) * 0.38, sub["level"] if k == 0 else np.zeros(len(y)),
                       height=0.38, color=PALETTE[k], label=name)
        if k == 1:
            artists += [(bar, lambda bar, w: bar.set_width(w)) for bar in bars]
    ax.set_yticks(y, [p.split(" (")[0] for p in persp])
    ax.set_ylim(len(persp) - 0.5, -0.5)  # (inverted: the first perspective at the top)
    ax.set_xlabel("discounted cost per person (GBP)")
    # the legend above the axes, out of the bars' way: part of the static pixels, drawn
    # once per figure (inside the axes, placed by the bars, it was drawn for every lever
    # value: ~10 CPU-ms of text layout)
    fig.legend(*ax.get_legend_handles_labels(), loc="upper center", ncol=2, fontsize=8,
               frameon=False, bbox_to_anchor=(0.567, 1.0))
    ax.grid(axis="x", alpha=0.3)
    fig.subplots_adjust(**MARGINS["costs"])
    return _Layers(fig, [(ax, "x")], artists, [])


def costs_png(outcome) -> bytes:
    """Discounted cost per person by perspective, usual care and the design."""
    c = costs_view(outcome)
    design = outcome.design.config["programme"]["name"]
    persp = list(dict.fromkeys(c["perspective"]))
    levels = c["level"].to_numpy(dtype=float)
    limits = span(levels, least=1.0)
    shown = tuple(sorted(set(c.loc[c["level"].notna(), "design"])))
    key = ("costs", _arm_key(outcome.reference), design, tuple(persp), shown)
    layers = _LAYERS.get(key, lambda: _costs_background(c, design, design_label(design),
                                                        persp))
    n_bars = len(layers.design)
    widths = (c[c["design"] == design].set_index("perspective").reindex(persp)["level"]
              .to_numpy(dtype=float) if n_bars else [])
    return layers.png((limits,), list(widths))


def clear() -> None:
    """Forget every background (tests)."""
    _LAYERS.clear()


def backgrounds_drawn() -> int:
    """Backgrounds drawn so far by the figures kept (a new set of axis limits each)."""
    with _LAYERS._lock:
        kept = list(_LAYERS._done.values())
    return sum(layers.scaled_draws for layers in kept)


__all__ = ["MARGINS", "PALETTE", "clear", "costs_png", "curves_png", "nice_limit", "span"]

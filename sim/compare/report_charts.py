"""Report charts that show differences from usual care, with one sign convention.

* RTW over time as the **difference** from usual care (percentage points), with the 95%
  paired interval over replicates for the whole population; by IMD quintile in an
  ordinal palette (viridis: dark = most deprived, readable in greyscale and by
  colour-blind readers) and by ethnic group in a categorical colour-blind-safe palette
  (Okabe-Ito without black and yellow, which read as ranks) with a line style per group,
  so the lines stay apart in greyscale.
* Gaps as the **reduction** against usual care with intervals, the axis zoomed to the
  changes (not bars from zero): **positive = gap narrows**, stated on every chart, as in
  the impact plane and the league chart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.categories import ETHNICITIES, ETHNICITY_LABELS

NARROWS = "positive = gap narrows"
ETH_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#666666",
               "#8C510A")
ETH_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)),
              (0, (3, 1, 1, 1, 1, 1)))


def imd_colours():
    from matplotlib import colormaps

    return [colormaps["viridis"](x) for x in np.linspace(0.0, 0.85, 5)]


def _paired_band(diff: pd.DataFrame):
    """Mean and 95% paired t interval per column (rows: replicates)."""
    from scipy.stats import t as t_dist

    n = diff.notna().sum()
    mean = diff.mean()
    sd = diff.std(ddof=1)
    q = t_dist.ppf(0.975, np.maximum(n - 1, 1))
    half = np.where(n >= 2, q * sd / np.sqrt(np.maximum(n, 1)), np.nan)
    return mean, mean - half, mean + half


def _replicate_shares(arm) -> pd.DataFrame:
    """Share back at work by week, per (seed, replicate), whole population."""
    frames = []
    for seed, cell in arm.cells.items():
        rc = cell.rtw_curves[cell.rtw_curves["dimension"] == "all"]
        wide = rc.assign(share=rc["returned"] / rc["n"]).pivot_table(
            index="replicate", columns="week", values="share")
        wide.index = pd.MultiIndex.from_product([[seed], wide.index])
        frames.append(wide)
    return pd.concat(frames)


def rtw_difference(comp, names: dict, small: int, max_designs: int = 5):
    """Figure: RTW difference from usual care over time (overall with intervals; by IMD
    quintile and by ethnic group for the design with most extra returns)."""
    import matplotlib.pyplot as plt

    arms = {a.key: a for a in comp.arms}
    ref = comp.ref_key
    designs = [d for d in names if d != ref]
    base = _replicate_shares(arms[ref])
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    ax = axes[0]
    for k, d in enumerate(designs[-max_designs:]):
        own = _replicate_shares(arms[d])
        both = own.index.intersection(base.index)
        mean, lo, hi = _paired_band(100 * (own.loc[both] - base.loc[both]))
        colour = ETH_COLOURS[k % len(ETH_COLOURS)]
        ax.plot(mean.index, mean.to_numpy(), color=colour, ls=ETH_STYLES[k], label=names[d])
        ax.fill_between(mean.index, lo.to_numpy(), hi.to_numpy(), color=colour, alpha=0.2,
                        lw=0)
    ax.axhline(0, color="grey", lw=1)
    ax.set_title("Back at work: design minus usual care\n(shaded: 95% interval over "
                 "replicates)", fontsize=10)
    ax.set_ylabel("percentage points (positive = more back at work)")
    if designs:
        ax.legend(fontsize=7, loc="best")
    best = designs[-1] if designs else ref
    curves = comp.curves
    for ax, dim, groups, label_of, colours, styles in (
            (axes[1], "imd_quintile", ["1", "2", "3", "4", "5"],
             lambda q: {"1": "Q1 most deprived", "5": "Q5 least deprived"}.get(q, f"Q{q}"),
             imd_colours(), ("-",) * 5),
            (axes[2], "ethnicity", list(ETHNICITIES), lambda e: ETHNICITY_LABELS.get(e, e),
             ETH_COLOURS, ETH_STYLES)):
        for k, g in enumerate(groups):
            own = curves[(curves["design"] == best) & (curves["dimension"] == dim)
                         & (curves["group"] == g)].set_index("week")
            ref_c = curves[(curves["design"] == ref) & (curves["dimension"] == dim)
                           & (curves["group"] == g)].set_index("week")
            if own.empty or ref_c.empty or min(own["n"].iloc[0], ref_c["n"].iloc[0]) < small:
                continue  # small groups are not drawn
            diff = 100 * (own["share"] - ref_c["share"].reindex(own.index))
            ax.plot(diff.index, diff.to_numpy(), color=colours[k], ls=styles[k],
                    label=label_of(g), lw=1.6)
        ax.axhline(0, color="grey", lw=1)
        ax.set_title(f"{names.get(best, best)} minus usual care, by "
                     f"{'IMD quintile' if dim == 'imd_quintile' else 'ethnic group'}",
                     fontsize=10)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="best")
        else:  # every group below the small-cell limit
            ax.text(0.5, 0.5, f"groups under {small} people are not drawn",
                    transform=ax.transAxes, ha="center", fontsize=9)
    for ax in axes:
        ax.set_xlabel("weeks since the absence began")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


GAPS = (("imd_gap_abs", "Q5 minus Q1 gap in RTW"),
        ("sii", "Deprivation gradient (SII)"),
        ("ethnic_gap", "Ethnic gap (White British minus\nminority groups, weighted)"))


def gap_reductions(comp, names: dict, value):
    """Figure: reduction of each gap against usual care (percentage points) with 95%
    intervals, axis zoomed to the changes; positive = gap narrows."""
    import matplotlib.pyplot as plt

    ref = comp.ref_key
    designs = [d for d in names if d != ref]
    fig, axes = plt.subplots(1, len(GAPS), figsize=(14, 0.45 * len(designs) + 2.2),
                             sharey=True)
    y = np.arange(len(designs))
    for ax, (measure, title) in zip(axes, GAPS, strict=True):
        est = np.array([-100 * value(d, measure) for d in designs], float)
        lo = np.array([-100 * value(d, measure, "high") for d in designs], float)
        hi = np.array([-100 * value(d, measure, "low") for d in designs], float)
        err = np.nan_to_num(np.array([est - lo, hi - est]))
        ax.errorbar(est, y, xerr=err, fmt="o", color=ETH_COLOURS[0], capsize=3)
        ax.axvline(0, color="grey", lw=1)
        ax.set_title(f"{title}\nreduction vs usual care ({NARROWS})", fontsize=9)
        ax.set_xlabel("percentage points (95% interval over replicates)", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        span = np.nanmax(np.abs(np.concatenate([lo, hi, [1e-3]])))
        ax.set_xlim(-1.15 * span, 1.15 * span)  # zoomed to the changes, zero centred
    axes[0].set_yticks(y, [names[d] for d in designs])
    fig.tight_layout()
    return fig

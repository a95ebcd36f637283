"""Figures for the run summary: RTW curves by deprivation and ethnicity, states over time.

Colours come from the Okabe-Ito palette, which stays distinguishable with the common
forms of colour blindness.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim.engine.categories import ETHNICITY_LABELS, STATES  # noqa: E402

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
             "#000000"]


def draw_rtw_curves(panel_curves: list[pd.DataFrame], horizon: int, path):
    """Cumulative share back at work by weeks since onset, by IMD quintile and ethnicity,
    from the curves of :func:`sim.results.figures_data.rtw_curves_data`."""
    weeks = min(52, horizon)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    panels = (("imd_quintile", "By IMD quintile (1 = most deprived)",
               lambda g: f"Q{g}" + (" most deprived" if g == "1" else
                                    " least deprived" if g == "5" else "")),
              ("ethnicity", "By ethnic group", lambda g: ETHNICITY_LABELS.get(g, g)))
    for ax, (by, title, label), curves in zip(axes, panels, panel_curves, strict=True):
        groups = list(curves.groupby("group", sort=False))
        for k, (group, c) in enumerate(groups):
            # quintiles are ordered: a sequential (viridis) scale; groups: categorical
            color = (matplotlib.colormaps["viridis"](k / max(len(groups) - 1, 1) * 0.9)
                     if by == "imd_quintile" else OKABE_ITO[k % len(OKABE_ITO)])
            ax.step(c["week"], 100 * c["share_returned"], where="post", color=color,
                    linewidth=1.6,
                    label=f"{label(group)} (n={int(c['n'].iloc[0]):,})")
        ax.set_title(title)
        ax.set_xlabel("Weeks since start of absence")
        ax.set_xlim(0, weeks)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_ylabel("Returned to work (%)")
    fig.suptitle("Return to work after the start of a sickness absence")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def states_figure(state_totals: pd.DataFrame, path):
    """Share of people in each state by week (stacked)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    total = state_totals[list(STATES)].sum(axis=1)
    shares = [100 * state_totals[s] / total for s in STATES]
    ax.stackplot(state_totals["week"], shares, labels=[s.capitalize() for s in STATES],
                 colors=OKABE_ITO[: len(STATES)], alpha=0.9)
    ax.set_xlabel("Week")
    ax.set_ylabel("People (%)")
    ax.set_ylim(0, 100)
    ax.set_xlim(state_totals["week"].min(), state_totals["week"].max())
    ax.set_title("Where people are, week by week")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_figures(rtw_curves: list[pd.DataFrame] | None, state_totals: pd.DataFrame | None,
                 horizon: int, folder: str) -> list[str]:
    """Draw the run's figures into ``folder`` from their tables (what the helper process
    does, :mod:`sim.results.helper`): ``rtw_curves.png`` from :func:`rtw_curves_data`,
    ``states.png`` from the state totals (either None: not drawn). Returns the names."""
    names = []
    if rtw_curves is not None:
        draw_rtw_curves(rtw_curves, horizon, Path(folder) / "rtw_curves.png")
        names.append("rtw_curves.png")
    if state_totals is not None:
        states_figure(state_totals, Path(folder) / "states.png")
        names.append("states.png")
    return names

"""The report's figures (inline PNG data URIs): league, RTW curves, gaps, the equity-efficiency
plane and costs by perspective."""

from __future__ import annotations

import base64
import io

import numpy as np

from sim.compare import report_charts
from sim.compare.report_cells import PERSPECTIVES
from sim.compare.report_measures import Comparison
from sim.engine.categories import SMALL_CELL

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")


# ---- figures --------------------------------------------------------------------------


def _fig_to_uri(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _names(comp: Comparison) -> dict:
    """Display name of each row: the programme name in words, then its variant."""
    acronyms = {"mdt": "MDT", "cbt": "CBT", "bps": "BPS", "ips": "IPS", "smi": "SMI",
                "vsw": "VSW", "rtw": "RTW"}
    out = {}
    for arm in comp.arms:
        name = " ".join(acronyms.get(w, w) for w in arm.design.split("_"))
        out[arm.key] = f"{name} [{arm.variant}]" if arm.variant else name
    return out


def _mpl(text: str) -> str:
    """User text as a matplotlib label: literal, never mathtext (a "$" would start it)."""
    return str(text).replace("$", r"\$")  # matplotlib: no unescaped "$", no mathtext


# the last few leagues looked up: (league frame, {(design, measure): first row}, {column:
# values}); a report or a page reads dozens of values from one league
_LEAGUE_INDEX: list = []


def _league_value(comp, design, measure, what="estimate"):
    """The league's ``what`` of (design, measure): its first such row, NaN if none."""
    league = comp.league
    found = next((entry for entry in _LEAGUE_INDEX if entry[0] is league), None)
    if found is not None:
        _, rows, columns = found
    else:
        rows = {}
        for i, key in enumerate(zip(league["design"].tolist(), league["measure"].tolist(),
                                    strict=True)):
            rows.setdefault(key, i)
        columns = {}
        _LEAGUE_INDEX[:] = [(league, rows, columns), *_LEAGUE_INDEX[:3]]
    i = rows.get((design, measure))
    if i is None:
        return np.nan
    if what not in columns:
        columns[what] = league[what].to_numpy()
    return float(columns[what][i])


def figures(comp: Comparison) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = {k: _mpl(v) for k, v in _names(comp).items()}
    ref, w, rtw = comp.ref_key, comp.rtw_week, comp.rtw
    designs = [d for d in names if d != ref]
    designs.sort(key=lambda d: _league_value(comp, d, "extra_rtw_per_1000"))
    out = {}

    # 1. league: extra returns per 1,000 and change in SII, with intervals
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(designs) + 1.6), sharey=True)
    for ax, measure, scale, title in (
        (axes[0], "extra_rtw_per_1000", 1, f"Extra people back at work within {w} weeks\n"
                                           "per 1,000 people (vs usual care)"),
        (axes[1], "sii", -100, "Reduction in deprivation gradient (SII, percentage points)"
                               "\npositive = gap narrows"),
    ):
        est = [scale * _league_value(comp, d, measure) for d in designs]
        lo = [scale * _league_value(comp, d, measure, "low" if scale > 0 else "high")
              for d in designs]
        hi = [scale * _league_value(comp, d, measure, "high" if scale > 0 else "low")
              for d in designs]
        y = np.arange(len(designs))
        err = np.array([np.subtract(est, lo), np.subtract(hi, est)])
        ax.errorbar(est, y, xerr=np.nan_to_num(err), fmt="o", color=PALETTE[0], capsize=3)
        ax.axvline(0, color="grey", lw=1)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(np.arange(len(designs)), [names[d] for d in designs])
    axes[0].set_xlabel("people per 1,000 (95% interval over replicates)")
    axes[1].set_xlabel("percentage points (95% interval over replicates)")
    out["league"] = _fig_to_uri(fig)

    # 2. RTW over time as the difference from usual care; 3. gap reductions with
    # intervals, zoomed (sim.compare.report_charts: ordinal IMD and colour-blind-safe palettes)
    out["curves"] = _fig_to_uri(report_charts.rtw_difference(comp, names, SMALL_CELL))
    out["gaps"] = _fig_to_uri(report_charts.gap_reductions(
        comp, names, lambda d, m, w="estimate": _league_value(comp, d, m, w)))

    # 4. equity-efficiency impact plane
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    for k, d in enumerate(designs):
        x = 100 * _league_value(comp, d, rtw)
        y = -100 * _league_value(comp, d, "sii")
        xe = 100 * np.array([[x / 100 - _league_value(comp, d, rtw, "low")],
                             [_league_value(comp, d, rtw, "high") - x / 100]])
        ye = 100 * np.array([[_league_value(comp, d, "sii", "high") + y / 100],
                             [-y / 100 - _league_value(comp, d, "sii", "low")]])
        ax.errorbar(x, y, xerr=np.nan_to_num(np.abs(xe)), yerr=np.nan_to_num(np.abs(ye)),
                    fmt="o", color=PALETTE[k % len(PALETTE)], capsize=3, label=names[d])
    ax.axhline(0, color="grey", lw=1)
    ax.axvline(0, color="grey", lw=1)
    ax.set_xlabel(f"change in RTW within {w} weeks vs usual care (percentage points)")
    ax.set_ylabel("reduction in deprivation gradient (SII, percentage points;\n"
                  "positive = gap narrows)")
    ax.set_title("Equity-efficiency impact plane\n(top right: more returns and a smaller gap)",
                 fontsize=10)
    if designs:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    out["plane"] = _fig_to_uri(fig)

    # 5. costs by perspective (change per person vs usual care)
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(designs) + 1.8))
    width = 0.8 / len(PERSPECTIVES)
    for k, (_, label) in enumerate(PERSPECTIVES):
        sub = comp.costs[comp.costs["perspective"] == label].set_index("design")
        ax.barh(np.arange(len(designs)) + (k - 1.5) * width,
                [sub.loc[d, "estimate"] for d in designs], height=width,
                color=PALETTE[k], label=label)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(np.arange(len(designs)), [names[d] for d in designs])
    ax.set_xlabel("change in discounted cost per person vs usual care (GBP; negative = saving)")
    ax.legend(fontsize=8, loc="best")
    ax.grid(axis="x", alpha=0.3)
    out["costs"] = _fig_to_uri(fig)
    return out

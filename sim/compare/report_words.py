"""Plain words for the report's first screen that never claim more than the runs show.

A design "narrows" a gap only if its paired 95% interval lies wholly below zero (the
change clears the simulation noise); "most" is said only of such a design. When no
design's change clears the noise, or no design narrows the gap at all, the sentence says
so. One sign convention: a negative change in a gap (SII, ethnic gap) is a narrowing.
"""

from __future__ import annotations

import math

from markupsafe import Markup


def _ci(est, lo, hi, fmt="{:+.1f}") -> str:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return fmt.format(est)
    return f"{fmt.format(est)} ({fmt.format(lo)} to {fmt.format(hi)})"


def gap_line(title: str, what: str, changes: dict, names: dict, baseline: float,
             unit: str = "percentage points", scale: float = 100.0) -> Markup:
    """One bullet on a gap: ``changes`` maps design -> (estimate, low, high) of the change
    in the gap against usual care (negative = narrows); ``baseline``: usual care's gap."""
    rows = {d: tuple(scale * float(x) for x in v) for d, v in changes.items()
            if math.isfinite(float(v[0]))}
    head = Markup("<b>{}:</b> ").format(title)
    if not rows:
        return head + Markup("not measurable in these runs.")
    base = Markup(" (usual care {:.1f} {})").format(scale * baseline, unit)
    firm = {d: v for d, v in rows.items() if v[2] < 0}  # interval wholly below zero
    widen = {d: v for d, v in rows.items() if v[1] > 0}  # wholly above zero
    if firm:
        d = min(firm, key=lambda k: firm[k][0])
        others = len(firm) - 1
        more = (Markup("; {} other design(s) also narrow it beyond the noise").format(others)
                if others else "")
        return head + Markup("{} narrows {} most, by {} {}{}{}.").format(
            names.get(d, d), what, _ci(*firm[d]), unit, base, more)
    falls = {d: v for d, v in rows.items() if v[0] < 0}
    if falls:
        d = min(falls, key=lambda k: falls[k][0])
        text = Markup("no design narrows {} by more than the simulation noise: the largest "
                      "fall, {}'s, is {} {} and its interval includes zero{}").format(
            what, names.get(d, d), _ci(*falls[d]), unit, base)
    else:
        d = min(rows, key=lambda k: rows[k][0])
        text = Markup("no design narrows {}: every design leaves it as it is or widens it "
                      "(smallest change: {}, {} {}){}").format(
            what, names.get(d, d), _ci(*rows[d]), unit, base)
    if widen:
        w = max(widen, key=lambda k: widen[k][0])
        text += Markup("; {} widens it, by {} {}").format(names.get(w, w), _ci(*widen[w]),
                                                          unit)
    return head + text + Markup(".")


def noise_warning(noise_share: float, threshold: float = 0.5) -> str:
    """A warning for a variance-based sensitivity index that noise dominates, or ''."""
    if not math.isfinite(noise_share):
        return "warning: the simulation-noise share of the output variance is unknown"
    if noise_share >= threshold:
        over = (" (more than the variance itself: the indices are noise)"
                if noise_share > 1 else "")
        return (f"warning: simulation noise is {noise_share:.0%} of the output variance"
                f"{over}; the indices cannot be read as findings: use more people or "
                "replicates per run")
    return ""


def discovery_line(n_fail: int, n_points: int, box_text: str | None,
                   n_significant: int) -> str:
    """The scenario-discovery console line: a box is a finding only if at least one of its
    restrictions is significant (quasi-p <= 0.05)."""
    rate = n_fail / n_points if n_points else float("nan")
    head = f"Scenario discovery: {n_fail}/{n_points} points fail ({rate:.0%}); "
    if box_text is None:
        return head + "no box (failures are all or none)"
    if n_significant == 0:
        return head + (f"no finding: no restriction of the box ({box_text}) is significant "
                       "(quasi-p <= 0.05), so the failures are not concentrated in it")
    return head + f"box: {box_text}"

"""Two helpers every analysis figure uses: a headless pyplot and save-and-close.

matplotlib is imported when a figure is first drawn, not when an analysis module is
imported: it adds about 0.3 s to start-up and most runs (the sweep workers, ``--help``, a
bad input) draw nothing.
"""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")  # before pyplot, so no display is needed
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path, dpi: int = 110, tight: bool = True, crop: bool = False) -> None:
    """Lay ``fig`` out (``tight``), write it to ``path`` (``crop``: trimmed to what is
    drawn, ``bbox_inches="tight"``) and close it."""
    import matplotlib.pyplot as plt

    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=dpi, **({"bbox_inches": "tight"} if crop else {}))
    plt.close(fig)

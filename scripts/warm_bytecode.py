"""Write the bytecode of the modules a run, a sweep worker and the report import, once.

This machine's environment sets PYTHONDONTWRITEBYTECODE, and the venv is installed with
--no-compile (compiling every installed file tripled the install), so without this step
every run compiles numpy, pandas, hydra, matplotlib ... from source again: `python -m sim
--help` took 2.0 instead of 0.9 s CPU. scripts/ensure_venv.sh runs this with bytecode writing
switched on; importing a module then writes its .pyc beside it, and later runs read it.
Only what is imported is compiled (a few seconds), not the thousands of files of ray or
playwright that no run imports.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# imported lazily inside functions, so importing sim's modules does not reach them
LAZY = ["matplotlib.pyplot", "matplotlib.ticker", "scipy.stats", "scipy.optimize",
        "scipy.special", "joblib", "joblib.externals.loky", "joblib.externals.cloudpickle",
        "jinja2", "pyarrow.parquet", "hydra", "hydra.core.plugins",
        "hydra._internal.core_plugins.basic_launcher", "hydra_plugins.rtw_sim"]


def main() -> int:
    if sys.flags.dont_write_bytecode:
        print("warm_bytecode: bytecode writing is off (-B / PYTHONDONTWRITEBYTECODE); "
              "nothing written", file=sys.stderr)
        return 0
    sys.path.insert(0, str(REPO))
    import sim

    names = [m.name for m in pkgutil.walk_packages(sim.__path__, "sim.")] + LAZY
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # an optional extra missing: its bytecode is not needed
            failed.append(f"{name} ({type(exc).__name__})")
    if failed:
        print("warm_bytecode: not imported: " + ", ".join(failed), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

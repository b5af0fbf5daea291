"""Regenerate the tutorials' figures in ``docs/figures`` from the experiment scripts that
make them (each page names its script; this runs them all and copies their PNGs).

    python docs/make_figures.py                 # every figure
    python docs/make_figures.py commutation     # only the figures of one script

Each script writes into ``runs/docs_figures/<script>`` (its full output, with
``summary.txt``), and the PNGs the pages show are copied to ``docs/figures``.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIG2_T200 = "experiments/fig2/rundirs/authors_cosine/addition_rplrnn_T200"

# script -> (extra arguments, {PNG it writes: name in docs/figures})
SCRIPTS = {
    "commutation": ([], {"commutation.png": "commutation.png"}),
    "plrnn_bistable": ([], {"bistable.png": "plrnn_bistable.png"}),
    "plrnn_chaos": ([], {"chaos.png": "plrnn_chaos.png"}),
    "oscillators": (
        [],
        {
            "fig1_2_state_space.png": "oscillators_state_space.png",
            "fig3_non_odd.png": "oscillators_non_odd.png",
            "fig4_spectra.png": "oscillators_spectra.png",
            "fig5_euler.png": "oscillators_euler.png",
        },
    ),
    # the trained network of the Fig. 2 row addition T = 200 (committed run directory)
    "analyse_trained_rplrnn": (["--run-dir", FIG2_T200], {"analysis.png": "rplrnn_analysis.png"}),
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scripts", nargs="*", help=f"any of {', '.join(SCRIPTS)} (default: all)")
    args = p.parse_args()
    unknown = [s for s in args.scripts if s not in SCRIPTS]
    if unknown:
        p.error(f"unknown script(s) {unknown}; choose from {list(SCRIPTS)}")
    figures = ROOT / "docs" / "figures"
    for name in args.scripts or SCRIPTS:
        extra, pngs = SCRIPTS[name]
        out = ROOT / "runs" / "docs_figures" / name
        t0 = time.perf_counter()
        cmd = [sys.executable, str(ROOT / "experiments" / f"{name}.py"), "--out", str(out), *extra]
        subprocess.run(cmd, check=True, cwd=ROOT)
        for src, dst in pngs.items():
            shutil.copyfile(out / src, figures / dst)
        print(f"{name}: {', '.join(pngs.values())} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Schmidt et al. + Eisenmann et al.: analyse a trained rPLRNN (line-attractor directions have eigenvalues ≈ 1).

Uses the quickstart run (trains it first if ``--run-dir`` does not exist yet),
then runs ``jaxrnn analyse``'s analysis: fixed points and 2-cycles (SCYFI at
M = 40), eigenvalues of the region Jacobians visited by test trials, and the
Lyapunov spectrum. Writes ``analysis.png`` and ``analysis.json`` to ``--out``.

    python experiments/analyse_trained_rplrnn.py --run-dir runs/quickstart --out runs/analyse_quickstart
"""

from __future__ import annotations

import argparse
import pathlib

import jax

jax.config.update("jax_enable_x64", True)  # the analysis runs in float64 (the script decides)

import numpy as np  # noqa: E402

from jaxrnn.analysis._run_report import NEAR_ONE, analyse_run  # noqa: E402
from jaxrnn.training import load_config, train  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run-dir", default="runs/quickstart")
    p.add_argument("--out", default="runs/analyse_quickstart")
    p.add_argument("--max-order", type=int, default=2)
    args = p.parse_args(argv)
    run_dir = pathlib.Path(args.run_dir)
    if not (run_dir / "best.eqx").is_file():
        print(f"{run_dir} has no trained run: training configs/quickstart.yaml first")
        train(load_config(ROOT / "configs" / "quickstart.yaml"), run_dir, progress=False)
    s = analyse_run(run_dir, out=args.out, max_order=args.max_order)
    spec = np.asarray(s["lyapunov_spectrum"])
    print(f"rPLRNN M={s['latent_size']}, M_reg={s['n_regularised']}: A of the regularised "
          f"units in [{min(s['A_regularised']):.4f}, {max(s['A_regularised']):.4f}]")
    print(f"test trials visit {s['regions_visited_by_test_trials']} linear regions; on average "
          f"{s['mean_eigenvalues_near_one_per_region']:.1f} eigenvalues per region lie within "
          f"{NEAR_ONE} of 1 (line-attractor directions)")
    print(f"Lyapunov spectrum: {np.sum(np.abs(spec) < 0.01)} of {spec.size} exponents within "
          f"0.01 of 0; largest {spec[0]:.5f}")
    for k, c in s["cycles"].items():
        print(f"order {k}: {c['count']} found; {'; '.join(c['notes'])}")
    print(f"wrote {args.out}/analysis.png and analysis.json")


if __name__ == "__main__":
    main()

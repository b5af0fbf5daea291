"""Time to accuracy: wall time for jaxrnn to reach 0.99 test fraction correct on the
addition problem (T = 200, seed 0, rPLRNN, M = 40) under both protocols, next to an
estimate for the PyTorch authors'-style loop.

- **paper text**: B = 16, gradient clip 10 (``configs/addition_rplrnn.yaml``).
- **authors' code**: B = 500, gradient clip 3.

Both: Adam 1e-3, τ = 5 (mean reductions), M_reg = 20, 100,000 training and 10,000
test trials, the authors' initialisation with a learned μ₀ (the config's
``learn_z0: true``; ``--zero-z0`` starts from z₀ = 0 instead); ``train.stop_at: 0.99``
ends each run at its first epoch with test fraction correct ≥ 0.99. The jaxrnn
time is the run's own ``elapsed_s`` at that epoch (training plus the per-epoch
evaluation of 10,000 test trials).

The PyTorch row is an **estimate**: the time of one training epoch of the
authors'-style model (``benchmarks/training_step.py``: a Python loop over time,
``torch.diag(A)`` and the masked W inside every step), timed over a few update
steps in this same run and multiplied by the number of steps per epoch and by
the epochs jaxrnn needed. It assumes PyTorch would need the same number of
epochs (same initialisation, optimiser and data) and leaves out its evaluation
passes, so it favours PyTorch.

Resumable: each protocol trains into ``--out/<protocol>``; a finished run is
read back, an interrupted one resumed.

    python benchmarks/time_to_accuracy.py --out runs/time_to_accuracy
    python benchmarks/time_to_accuracy.py --out runs/time_to_accuracy --report-only  # no training
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _timing import machine, table  # noqa: E402

from jaxrnn.training import TrainingDiverged, load_config, train  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROTOCOLS = {"paper_text": {"train.batch_size": 16, "train.clip_norm": 10.0},
             "authors_code": {"train.batch_size": 500, "train.clip_norm": 3.0}}


def jaxrnn_time(name: str, args) -> dict:
    """Train (or resume, or read back) one protocol; the first epoch at >= target."""
    run_dir = pathlib.Path(args.out) / name
    summary_path = run_dir / "summary.json"
    done = summary_path.is_file() and json.loads(summary_path.read_text())["status"] in (
        "completed", "stopped_early", "diverged")
    if not done and not args.report_only:
        resume = (run_dir / "last.eqx").is_file()
        overrides = [f"{k}={v}" for k, v in PROTOCOLS[name].items()] + [
            f"task.T={args.T}", f"seed={args.seed}", f"train.stop_at={args.target}",
            f"train.epochs={args.max_epochs}", f"name={name}",
            f"model.learn_z0={'false' if args.zero_z0 else 'true'}"]
        config = None if resume else load_config(ROOT / "configs" / "addition_rplrnn.yaml",
                                                 overrides)
        if not resume and run_dir.exists():
            import shutil

            shutil.rmtree(run_dir)  # a run killed before its first checkpoint
        try:
            train(config, run_dir, resume=resume, progress=False)
        except TrainingDiverged as e:
            print(f"[{name}] {e}")
        done = json.loads(summary_path.read_text())["status"] in (
            "completed", "stopped_early", "diverged")
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()
               if x.strip()]
    records = [r for r in records if "test_frac_correct" in r]
    hit = next((r for r in records if r["test_frac_correct"] >= args.target), None)
    B = PROTOCOLS[name]["train.batch_size"]
    status = json.loads(summary_path.read_text())["status"]
    return {"B": B, "epochs": hit["epoch"] if hit else None, "done": done, "status": status,
            "epochs_run": records[-1]["epoch"],
            "seconds": hit["elapsed_s"] if hit else None,
            "s_per_epoch": records[-1]["elapsed_s"] / records[-1]["epoch"],
            "best": max(r["test_frac_correct"] for r in records)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--target", type=float, default=0.99)
    ap.add_argument("--max-epochs", type=int, default=200)
    ap.add_argument("--torch-steps", type=int, default=3)
    ap.add_argument("--out", default="runs/time_to_accuracy")
    ap.add_argument("--zero-z0", action="store_true", help="start from z0 = 0, not a learned mu0")
    ap.add_argument("--report-only", action="store_true",
                    help="train nothing: report the run directories as they are")
    args = ap.parse_args(argv)

    results = {name: jaxrnn_time(name, args) for name in PROTOCOLS}
    try:
        import torch

        import training_step as ts

        torch.set_num_threads(__import__("os").cpu_count())
        Authors, _ = ts.torch_models()
    except ImportError:
        torch = None
        print("(PyTorch not installed: jaxrnn rows only)")
    rows = []
    n_train = 100_000
    for name, r in results.items():
        missed = f"not reached in {r['epochs_run']} epochs ({r['status']})"
        row = [name, r["B"], r["epochs"] or missed, r["seconds"] or float("nan"),
               r["s_per_epoch"], r["best"]]
        if torch is not None:
            clip = PROTOCOLS[name]["train.clip_norm"]
            step = ts.torch_step_time(Authors, r["B"], args.torch_steps, T=args.T, clip=clip)
            epoch = step * (n_train // r["B"])
            est = epoch * (r["epochs"] or r["epochs_run"])  # a lower bound if not reached
            t_jax = r["seconds"] or r["s_per_epoch"] * r["epochs_run"]
            row += [epoch, est, est / t_jax]
        rows.append(row)
    print(f"# time to {args.target} test fraction correct, rPLRNN addition T = {args.T}, "
          f"seed {args.seed}, M = 40; {machine()}"
          + (f"; torch {torch.__version__}" if torch is not None else ""))
    header = ["protocol", "B", "epochs to target", "jaxrnn s to target", "jaxrnn s/epoch",
              "best frac correct"]
    if torch is not None:
        header += ["PyTorch authors' style s/epoch (training only)",
                   "PyTorch est. s to target", "est. ratio"]
    print(table(header, rows))


if __name__ == "__main__":
    main()

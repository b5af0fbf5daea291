"""Time to accuracy: wall time to the first epoch at >= 0.99 test fraction correct on
the addition problem (T = 200, rPLRNN, M = 40, M_reg = 20, τ = 5, mean reductions), for
jaxrnn's protocols and, measured in the same run, the authors' own training code.

jaxrnn protocols:

- **fast**: ``configs/fast/addition_rplrnn.yaml`` (B = 64, clip 3, Adam 1e-3 with a
  500-step warm-up and a cosine decay over 12 epochs, z₀ = 0).
- **shipped**: ``configs/addition_rplrnn.yaml`` as it is (B = 500, clip 3, Adam 1e-3
  with a cosine decay over 120 epochs, z₀ = 0). The next two override it:
- **authors' protocol**: B = 500, clip 3, constant Adam 1e-3, learned μ₀ — what the
  authors' code does, run by jaxrnn.
- **paper text**: B = 16, clip 10, constant Adam 1e-3, learned μ₀.

All: 100,000 training and 10,000 test trials; ``train.stop_at`` ends a run at its first
epoch at >= the target. The jaxrnn time is the run's ``elapsed_s`` at that epoch
(training plus the per-epoch evaluation of the 10,000 test trials).

**The authors' code** (``--authors-code DIR``): their own ``gdplrnn`` package, imported
from a checkout you supply (``git clone https://github.com/DurstewitzLab/reg-PLRNN DIR``;
it has no licence, so nothing of it is copied into jaxrnn), with their model,
initialisation, data sets, ``train_model`` and ``evaluate_model`` and the settings of
their Fig. 2 rPLRNN runs (``benchmarks/_authors_code.py``), epoch by epoch until the
target, timed the same way (training plus evaluation). Their ``seed=0`` seeds from the
clock, so their seed is ``--authors-seed`` (default 1). Without ``--authors-code`` only
the jaxrnn rows are printed; with PyTorch installed, the estimate from a PyTorch
*re-implementation* in the authors' style (``training_step.py``: its time per training
epoch times the epochs jaxrnn needed) is printed too, labelled as an estimate.

Resumable: every protocol trains into ``--out/<protocol>`` (the authors' code into
``--out/authors_code_torch``); a finished run is read back, an interrupted one resumed.

    python benchmarks/time_to_accuracy.py --out runs/time_to_accuracy --authors-code ../reg-PLRNN
    python benchmarks/time_to_accuracy.py --out runs/time_to_accuracy --report-only
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _timing import machine, table  # noqa: E402

from jaxrnn.training import TrainingDiverged, load_config, train  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
AUTHORS = {"train.batch_size": 500, "train.clip_norm": 3.0, "train.schedule": "constant",
           "model.learn_z0": "true", "train.epochs": 200}
PROTOCOLS = {"fast": ("fast/addition_rplrnn.yaml", {}),
             "shipped": ("addition_rplrnn.yaml", {}),
             "authors_protocol": ("addition_rplrnn.yaml", AUTHORS),
             "paper_text": ("addition_rplrnn.yaml",
                            AUTHORS | {"train.batch_size": 16, "train.clip_norm": 10.0})}


def jaxrnn_time(name: str, args) -> dict:
    """Train (or resume, or read back) one protocol; the first epoch at >= target."""
    run_dir = pathlib.Path(args.out) / name
    summary_path = run_dir / "summary.json"
    done = summary_path.is_file() and json.loads(summary_path.read_text())["status"] in (
        "completed", "stopped_early", "diverged")
    if not done and not args.report_only:
        resume = (run_dir / "last.eqx").is_file()
        path, settings = PROTOCOLS[name]
        overrides = [f"{k}={v}" for k, v in settings.items()] + [
            f"task.T={args.T}", f"seed={args.seed}", f"train.stop_at={args.target}",
            f"name={name}"]
        config = None if resume else load_config(ROOT / "configs" / path, overrides)
        if not resume and run_dir.exists():
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
    B = load_config(run_dir / "config.yaml").train.batch_size
    status = json.loads(summary_path.read_text())["status"]
    return {"B": B, "epochs": hit["epoch"] if hit else None, "done": done, "status": status,
            "epochs_run": records[-1]["epoch"],
            "seconds": hit["elapsed_s"] if hit else None,
            "s_per_epoch": records[-1]["elapsed_s"] / records[-1]["epoch"],
            "best": max(r["test_frac_correct"] for r in records)}


def torch_estimate(r: dict, name: str, args):
    """s/epoch of the PyTorch re-implementation (training only) and its estimated time."""
    import training_step as ts

    Authors, _ = ts.torch_models()
    clip = load_config(pathlib.Path(args.out) / name / "config.yaml").train.clip_norm
    step = ts.torch_step_time(Authors, r["B"], args.torch_steps, T=args.T, clip=clip)
    epoch = step * (100_000 // r["B"])
    return epoch, epoch * (r["epochs"] or r["epochs_run"])  # a lower bound if not reached


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0, help="jaxrnn's seed")
    ap.add_argument("--target", type=float, default=0.99)
    ap.add_argument("--out", default="runs/time_to_accuracy")
    ap.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS))
    ap.add_argument("--authors-code", metavar="DIR",
                    help="a checkout of https://github.com/DurstewitzLab/reg-PLRNN")
    ap.add_argument("--authors-seed", type=int, default=1)
    ap.add_argument("--authors-max-epochs", type=int, default=200)
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="torch threads (default 1: the authors' main.py sets 1)")
    ap.add_argument("--torch-steps", type=int, default=3,
                    help="update steps timed for the re-implementation estimate")
    ap.add_argument("--report-only", action="store_true",
                    help="train nothing: report the run directories as they are")
    args = ap.parse_args(argv)

    results = {name: jaxrnn_time(name, args) for name in args.protocols}
    authors = None
    if args.authors_code:
        import _authors_code

        authors = _authors_code.run(
            args.authors_code, pathlib.Path(args.out) / "authors_code_torch", T=args.T,
            seed=args.authors_seed, target=args.target, max_epochs=args.authors_max_epochs,
            threads=args.torch_threads, train=not args.report_only)
    else:
        print("(no --authors-code DIR: jaxrnn rows only; get the authors' code with "
              "git clone https://github.com/DurstewitzLab/reg-PLRNN DIR)")
    try:
        import torch
    except ImportError:
        torch = None
    rows = []
    ref = authors["seconds"] if authors and authors["seconds"] else None
    for name, r in results.items():
        missed = f"not reached in {r['epochs_run']} epochs ({r['status']})"
        row = [name, r["B"], r["epochs"] or missed, r["seconds"] or float("nan"),
               r["s_per_epoch"], r["best"]]
        row.append(ref / r["seconds"] if ref and r["seconds"] else "–")
        if torch is not None:
            epoch, est = torch_estimate(r, name, args)
            row += [epoch, est / (r["seconds"] or r["s_per_epoch"] * r["epochs_run"])]
        rows.append(row)
    print(f"# time to {args.target} test fraction correct, rPLRNN addition T = {args.T}, "
          f"M = 40; jaxrnn seed {args.seed}; {machine()}"
          + (f"; torch {torch.__version__}" if torch is not None else ""))
    if authors:
        missed = f"not reached in {authors['epochs_run']} epochs ({authors['status']})"
        print(f"authors' code (reg-PLRNN {authors['commit']}, seed {args.authors_seed}, "
              f"{authors['threads']} torch threads; B = 500, clip 3, Adam 1e-3): "
              f"{authors['epochs'] or missed} epochs, "
              f"{authors['seconds'] or float('nan'):.0f} s to {args.target} "
              f"({authors['s_per_epoch']:.1f} s/epoch with evaluation; best "
              f"{authors['best']:.4f}; data sets built in {authors['data_s']:.1f} s, not counted)")
    header = ["protocol", "B", "epochs to target", "jaxrnn s to target", "jaxrnn s/epoch",
              "best frac correct", "authors' code s / jaxrnn s (measured)"]
    if torch is not None:
        header += ["PyTorch re-implementation s/epoch (training only)",
                   "re-implementation est. ratio"]
    print(table(header, rows))


if __name__ == "__main__":
    main()

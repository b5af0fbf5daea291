"""The fast addition protocol (``configs/fast/addition_rplrnn.yaml``) on seeds 0-2: time to
the first epoch at >= 0.99 test fraction correct at T = 200, and at T = 400 as a curriculum
(the T = 400 run starts from the same seed's T = 200 model, ``model.init_from``; its time
to accuracy is the sum of both runs). Every run is a run directory under ``--out``
(``t200_seed0``, ``t400_seed0``, ...); finished runs are read back, interrupted ones
resumed. Writes ``results.md`` there.

    python experiments/fast_protocol.py --out experiments/fast_protocol
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import statistics
import subprocess

from jaxrnn.training import TrainingDiverged, load_config, train

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "fast" / "addition_rplrnn.yaml"
DONE = ("completed", "stopped_early", "diverged")


def run(run_dir: pathlib.Path, overrides: list[str]) -> dict:
    """Train (or resume, or read back) one run; its first epoch at >= 0.99."""
    summary = run_dir / "summary.json"
    if not (summary.is_file() and json.loads(summary.read_text())["status"] in DONE):
        resume = (run_dir / "last.eqx").is_file()
        if not resume and run_dir.exists():
            shutil.rmtree(run_dir)  # killed before its first checkpoint
        try:
            train(None if resume else load_config(CONFIG, overrides), run_dir, resume=resume,
                  progress=False)
        except TrainingDiverged as e:
            print(f"[{run_dir.name}] {e}")
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    records = [r for r in records if "test_frac_correct" in r]
    hit = next((r for r in records if r["test_frac_correct"] >= 0.99), None)
    return {"status": json.loads(summary.read_text())["status"], "epochs": len(records),
            "hit_epoch": hit and hit["epoch"], "seconds": hit and round(hit["elapsed_s"], 1),
            "best": max(r["test_frac_correct"] for r in records)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="experiments/fast_protocol")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args(argv)
    out = pathlib.Path(args.out)
    rows, t200, t400 = [], [], []
    for seed in args.seeds:
        first = out / f"t200_seed{seed}"
        a = run(first, [f"seed={seed}", f"name=t200_seed{seed}"])
        b = run(out / f"t400_seed{seed}", [f"seed={seed}", "task.T=400", f"name=t400_seed{seed}",
                                            f"model.init_from={first}"])
        total = round(a["seconds"] + b["seconds"], 1) if a["seconds"] and b["seconds"] else None
        t200.append(a["seconds"] or float("inf"))
        t400.append(total or float("inf"))
        rows.append(f"| {seed} | {a['hit_epoch'] or '–'} | {a['seconds'] or '–'} | "
                    f"{b['hit_epoch'] or '–'} | {b['seconds'] or '–'} | {total or '–'} | "
                    f"{a['status']}, {b['status']} |")
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    text = "\n".join([
        f"Fast protocol (`configs/fast/addition_rplrnn.yaml`), rPLRNN addition, first epoch "
        f"at >= 0.99 (seconds: the runs' own elapsed_s, training and per-epoch evaluation "
        f"of 10,000 test trials). Written by `python experiments/fast_protocol.py` at "
        f"{commit}.",
        "",
        "| seed | T = 200 epochs | T = 200 s | T = 400 epochs (from the T = 200 model) | "
        "T = 400 s | T = 400 total s | status |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Median over seeds: T = 200 {statistics.median(t200):.1f} s, "
        f"T = 400 (curriculum total) {statistics.median(t400):.1f} s.",
    ])
    (out / "results.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

"""Sweeps on one device, on several devices of one process, and on several processes.

Runs the shipped training sweep (`configs/sweeps/rplrnn_tau_seed.yaml`: 20 rPLRNNs,
addition T = 100, as one population; ``--epochs`` epochs, in float64 unless
``--float32``) and the shipped system sweep
(`configs/sweeps/ctrnn_tau_dt.yaml`: the Euler error over a 21 x 36 τ × Δ grid) as the
user would, with the ``jaxrnn`` command in fresh processes, in three layouts:

- one process on one device (the baseline);
- one process on ``--devices`` devices (on a CPU host: XLA's
  ``--xla_force_host_platform_device_count``; on a GPU host: its GPUs);
- ``--processes`` processes started by ``python -m jaxrnn.launch`` on 127.0.0.1, joined
  through ``jax.distributed`` (``--distributed``), each with one device.

Reported per sweep and layout: wall time of the whole command (start-up, compilation,
the work, the files), its ratio to one process on one device timed in the same run,
and the largest relative difference of ``results.csv``'s numbers from the baseline.

    python benchmarks/distributed_scaling.py --epochs 1
"""

from __future__ import annotations

import argparse
import csv
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _timing import machine, table  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
SWEEPS = {
    "training (20 rPLRNNs)": ROOT / "configs" / "sweeps" / "rplrnn_tau_seed.yaml",
    "system (21 x 36 grid)": ROOT / "configs" / "sweeps" / "ctrnn_tau_dt.yaml",
}


def _numbers(path: pathlib.Path) -> np.ndarray:
    with open(path) as f:
        rows = list(csv.reader(f))[1:]

    def num(v):
        try:
            return float(v)
        except ValueError:
            return np.nan  # a status column

    return np.array([[num(v) for v in r] for r in rows])


def _run(command: list[str], env: dict, timeout: float) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {' '.join(command)}\n{out.stderr[-2000:]}")
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=1, help="epochs of the training sweep")
    ap.add_argument("--devices", type=int, default=4, help="devices of the one-process row")
    ap.add_argument("--processes", type=int, default=2, help="processes of the last row")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per command")
    ap.add_argument(
        "--float32",
        action="store_true",
        help="train in the sweep's float32 (default: float64, where the layouts' results "
        "agree to rounding; in float32 rounding differences grow through training)",
    )
    args = ap.parse_args(argv)
    base_env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    jaxrnn = [sys.executable, "-m", "jaxrnn.cli"]
    forced = f"--xla_force_host_platform_device_count={args.devices}"
    layouts = [
        ("1 process, 1 device", [], {"CUDA_VISIBLE_DEVICES": "0"}),
        (f"1 process, {args.devices} devices", [], {"XLA_FLAGS": forced}),
        (f"{args.processes} processes", ["--distributed", "--timeout", "120"], {}),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, path in SWEEPS.items():
            baseline, reference = None, None
            for i, (name, extra, env) in enumerate(layouts):
                out = pathlib.Path(tmp) / f"{path.stem}-{i}"
                cmd = [*jaxrnn, "sweep", str(path), "--out", str(out), "--no-progress", *extra]
                if path.stem.startswith("rplrnn"):
                    cmd += ["--set", f"train.epochs={args.epochs}"]
                    cmd += [] if args.float32 else ["--set", "train.dtype=float64"]
                if "--distributed" in extra:  # N processes on 127.0.0.1
                    launch = [sys.executable, "-m", "jaxrnn.launch", "--processes"]
                    cmd = [*launch, str(args.processes), "--timeout", "60", "--", *cmd]
                wall = _run(cmd, {**base_env, **env}, args.timeout)
                values = _numbers(out / "results.csv")
                if baseline is None:
                    baseline, reference = wall, values
                scale = np.maximum(np.abs(reference), 1e-300)
                with np.errstate(invalid="ignore"):
                    diff = np.nanmax(np.abs(values - reference) / scale)
                figure = "yes" if (out / "heatmap.png").is_file() else "no"
                rows.append(
                    [kind, name, f"{wall:.1f}", f"{wall / baseline:.2f}", f"{diff:.1e}", figure]
                )
                print(" | ".join(rows[-1]), flush=True)
    print()
    dtype = "float32" if args.float32 else "float64"
    print(f"machine: {machine()}; training sweep: {args.epochs} epoch(s) in {dtype}")
    header = ["sweep", "layout", "wall (s)", "ratio to 1 process", "max rel. diff", "heatmap"]
    print(table(header, rows))


if __name__ == "__main__":
    main()

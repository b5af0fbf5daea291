"""The authors' own code at the Fig. 2 points where jaxrnn's baselines differ from the
published means: does *their* training, run on this machine, reproduce their published
value, or jaxrnn's?

jaxrnn's RNN solves addition T = 40 and its npRNN multiplication T = 40 in all three
seeds (authors' protocol and initialisation, ``experiments/fig2/results.md``), where the
published means are 0.449 ± 0.150 and 0.473 ± 0.143 (n = 10 each, runs ranging from
chance to 1.000). The models are equal to theirs given the same weights
(``experiments/baselines_vs_authors_code.py``: read-outs, losses and gradients to 1e-13),
so what is left is the training: their initialisation draws, their data, their loaders'
shuffling, PyTorch's Adam on their parameters (two biases where jaxrnn has one). This
script trains their code (DurstewitzLab/reg-PLRNN, package ``gdplrnn``, imported from a
checkout the user supplies and never copied: it has no licence) at those points with
their own ``create_model``, data sets, ``train_model`` (clip 3) and ``evaluate_model``,
Adam 1e-3, B = 500, up to 200 epochs, each seed ending at its first epoch with test
fraction correct ≥ 0.99 as jaxrnn's populations do (``benchmarks/_authors_code.py``).
Their ``seed=0`` seeds from the clock, so the seeds here are 1, 2, 3.

    python experiments/fig2_authors_code.py --authors-code ../reg-PLRNN \\
        --out experiments/fig2_authors_code          # resumable; one core
    python experiments/fig2_authors_code.py --authors-code ../reg-PLRNN --report

Writes ``--out/<task>_<model>_T<T>/seed<k>/epochs.json`` (per epoch: test loss, fraction
correct, cumulative seconds; ``last.pt`` to resume) and ``--out/results.md``: per point
the authors' code here, jaxrnn's population (authors' protocol) and the published mean.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import pathlib
import signal
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import _authors_code  # noqa: E402
from fig2_benchmarks import _mean_sem  # noqa: E402  (the Fig. 2 runner's mean ± SEM)

# jaxrnn model name -> the authors' network_structure (their TrainingConfig drops the
# PLRNN-only keywords for these, as it did for their runs)
STRUCTURES = {
    "rnn": "uninitialized",
    "l2rnn": "l2RNN",
    "irnn": "IRNN",
    "nprnn": "np_RNN",
    "lstm": "LSTM",
}
PROBLEMS = {"addition": "Addition", "multiplication": "Multiplication"}
DEFAULT_POINTS = ["addition_rnn_T40", "multiplication_nprnn_T40"]


def parse_point(text: str) -> tuple[str, str, int]:
    try:
        task, model, t = text.split("_")
        T = int(t.removeprefix("T"))
    except ValueError:
        raise SystemExit(
            f"--points {text}: expected TASK_MODEL_T<T>, e.g. addition_rnn_T40"
        ) from None
    if task not in PROBLEMS or model not in STRUCTURES:
        raise SystemExit(
            f"--points {text}: task one of {sorted(PROBLEMS)}, model one of {sorted(STRUCTURES)}"
        )
    return task, model, T


def one_bias(model) -> None:
    """Their ``nn.RNN`` carries two biases that the cell only adds (``b_ih + b_hh``); Adam
    steps each by up to the learning rate, so the sum moves up to twice as far per update
    as one bias would, and the clipped norm counts its gradient twice. This folds ``b_hh``
    into ``b_ih`` (the same sum, so the same network and the same initial distribution)
    and freezes ``b_hh`` at 0: one trained bias, as jaxrnn's cell has."""
    import torch

    with torch.no_grad():
        model.rnn.bias_ih_l0 += model.rnn.bias_hh_l0
        model.rnn.bias_hh_l0.zero_()
    model.rnn.bias_hh_l0.requires_grad_(False)


def point_dir(args, task: str, model: str, T: int) -> pathlib.Path:
    return args.out / f"{task}_{model}_T{T}{'_one_bias' if args.one_bias else ''}"


def train_point(point, args, train: bool = True) -> list[dict]:
    task, model, T = point
    rows = []
    for seed in args.seeds:
        out = point_dir(args, task, model, T) / f"seed{seed}"
        if not train and not (out / "epochs.json").is_file():
            continue
        r = _authors_code.run(
            args.authors_code,
            out,
            T=T,
            seed=seed,
            target=args.stop_at,
            max_epochs=args.epochs,
            threads=args.threads,
            train=train,
            structure=STRUCTURES[model],
            problem=PROBLEMS[task],
            settings={"d_hidden": 40, "learning_rate": 1e-3},
            prepare=one_bias if args.one_bias else None,
            log=lambda m, s=seed: print(f"{task}_{model}_T{T} seed {s}: {m}", flush=True),
        )
        rows.append({"seed": seed, **r})
    return rows


def _csv_rows(path: pathlib.Path) -> list[dict]:
    return list(csv.DictReader(path.open())) if path.is_file() else []


def report(args) -> str:
    fig2 = ROOT / "experiments" / "fig2"
    published = {(r["task"], r["model"], int(r["T"])): r for r in _csv_rows(fig2 / "published.csv")}
    ours = {
        (r["task"], r["model"], int(r["T"])): r
        for r in _csv_rows(fig2 / "results.csv")
        if r["protocol"] == "authors"
    }
    commit = _authors_code.commit_of(args.authors_code)
    lines = [
        "# The authors' own code at the Fig. 2 points where jaxrnn's baselines differ",
        "",
        f"`python experiments/fig2_authors_code.py --authors-code DIR` (their commit "
        f"`{commit}`; torch CPU, {args.threads} thread); report written "
        f"{datetime.date.today()} at {_git_head()}. Each seed: Adam 1e-3, B = 500, clip 3, "
        f"at most {args.epochs} epochs, ending at the first epoch with test fraction "
        f"correct ≥ {args.stop_at} (as jaxrnn's populations do).",
        "",
        "| point | authors' code here: best per seed (epoch reaching "
        f"{args.stop_at}) | solved | mean ± SEM | jaxrnn, authors' protocol: mean ± SEM, "
        "solved | published mean ± SEM (n) |",
        "|---|---|---|---|---|---|",
    ]
    seconds = {}  # point name -> seconds per epoch of the two-bias runs
    for point, variant in [(q, v) for q in args.points for v in (False, True)]:
        rows = train_point(
            point, argparse.Namespace(**{**vars(args), "one_bias": variant}), train=False
        )
        if not rows:
            continue
        task, model, T = point
        if not variant:
            seconds[f"{task}_{model}_T{T}"] = rows[0]["s_per_epoch"]
        cells = [
            f"seed {r['seed']}: {r['best']:.4f} ({r['epochs'] or '–'}"
            f"{'' if r['status'] != 'running' else ', running'}"
            f"{', diverged' if r['status'] == 'diverged' else ''})"
            for r in rows
        ]
        solved = sum(r["epochs"] is not None for r in rows)
        m, s = _mean_sem([r["best"] for r in rows])
        o = ours.get(point)
        ours_cell = (
            f"{float(o['mean']):.3f} ± {float(o['sem']):.3f}, {o['n_stopped']} of {o['n_seeds']}"
            if o
            else "not run"
        )
        p = published.get(point)
        pub_cell = f"{float(p['mean']):.3f} ± {float(p['sem']):.3f} ({p['n']})" if p else "–"
        lines.append(
            f"| {task} {model.upper() if model != 'nprnn' else 'npRNN'} T = {T}"
            f"{' (their code with one bias)' if variant else ''} | "
            f"{'; '.join(cells)} | {solved} of {len(rows)} | {m:.3f} ± {s:.3f} | "
            f"{ours_cell} | {pub_cell} |"
        )
    lines += [
        "",
        "One bias: their `nn.RNN`'s two biases folded into one and the other frozen at 0 "
        "(`--one-bias`): the same network and initial distribution, with Adam stepping the "
        "bias once per update, as jaxrnn's single bias is stepped.",
        "",
        "Seconds per epoch of the authors' code here: "
        + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


def _git_head() -> str:
    return (
        subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        or "unknown"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--authors-code",
        type=pathlib.Path,
        required=True,
        help="a checkout of https://github.com/DurstewitzLab/reg-PLRNN",
    )
    p.add_argument("--out", type=pathlib.Path, default=ROOT / "experiments" / "fig2_authors_code")
    p.add_argument("--points", nargs="+", default=DEFAULT_POINTS, metavar="TASK_MODEL_TT")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--stop-at", type=float, default=0.99)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--one-bias",
        action="store_true",
        help="their RNNs with one trained bias instead of two (an experiment on "
        "their code, see one_bias), in <out>/<point>_one_bias/",
    )
    p.add_argument("--report", action="store_true", help="train nothing; rewrite results.md")
    args = p.parse_args(argv)
    args.points = [parse_point(x) for x in args.points]
    if min(args.seeds) < 1:
        p.error("--seeds: the authors' seed 0 seeds from the clock; use seeds >= 1")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # ends between epochs' saves
    if not args.report:
        for point in args.points:
            train_point(point, args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(report(args))
    print((args.out / "results.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())

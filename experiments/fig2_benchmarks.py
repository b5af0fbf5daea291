"""Fig. 2 of the rPLRNN paper (Schmidt et al., Sect. 4.1) at full size, on a CPU, resumably.

Each row trains ``configs/<task>_<model>.yaml`` as shipped (protocol
``authors_cosine``: the authors' code, M = 40, 100,000 training and 10,000 test
trials, batch 500, Adam 1e-3 decayed by a cosine over 120 epochs (sequential MNIST
with the rPLRNN: 200, the authors' epoch count), gradient
clip 3, τ = 5, M_reg/M = 0.5, the authors' initialisation with z₀ = 0; sequential
MNIST on the complete 60,000/10,000 images) with ``task.T`` set. No early stopping
by default: the cosine schedule needs its full length (measured at T = 200, seed 0: the
test accuracy swung between 0.01 and 0.98 for the first 40 epochs, so ``--patience 20``
ended the run at epoch 39 with a best of 0.980); ``--patience N`` stops after N epochs
without a new best test loss. ``--protocol paper_text`` uses the paper's text
instead (batch 16, clip 10, constant rate, 100 epochs, learned μ₀);
``authors_code`` the authors' code with its constant rate over 200 epochs and
learned μ₀, ``authors_code_z0`` the same from z₀ = 0.

Rows run in the order the README's table needs them (``--rows required``:
rPLRNN addition T = 200, 400, 500, 600; multiplication T = 400, 600; iPLRNN,
iRNN and LSTM addition T = 400; sequential MNIST rPLRNN and LSTM, the LSTM with
M/4 = 10 units as the paper's Sect. 4.1), then ``--rows extra`` (the MNIST LSTM at
40 units, row model ``lstm_h40``, the size of the authors' published LSTM runs; the MNIST
rPLRNN over 120 epochs instead of its config's 200, ``rplrnn_e120``; T = 100
and 300, multiplication 200 and 500, baselines on multiplication, iPLRNN/iRNN on MNIST).
Every row reports the best test fraction correct (accuracy for MNIST) and its epoch, the
final epoch's value, the wall time and the time to first reach 0.99 (MNIST: 0.9).

**Resumable**: a row already in ``results.csv`` is skipped; an interrupted
run is resumed from its run directory ``--out/rundirs/<protocol>/<task>_<model>_T<T>``
(``..._seed<S>`` for ``--seed S`` other than 0; committed
with the results, so a later run resumes it too). Kill it
at any time and start it again with the same arguments.

    nohup python experiments/fig2_benchmarks.py --out experiments/fig2 \\
        > runs/fig2.log 2>&1 &

writes ``results.csv``, ``results.md`` and ``fig2.png`` into ``--out`` after every row.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pathlib
import signal
import sys
import time

from jaxrnn.training import TrainingDiverged, load_config, train
from jaxrnn.training._config import PLRNN_MODELS

ROOT = pathlib.Path(__file__).resolve().parents[1]

REQUIRED = [("addition", "rplrnn", T) for T in (200, 400, 500, 600)] + [
    ("multiplication", "rplrnn", T) for T in (400, 600)] + [
    ("addition", m, 400) for m in ("iplrnn", "irnn", "lstm")] + [
    ("mnist", "rplrnn", 784), ("mnist", "lstm", 784)]
EXTRA = [("mnist", "lstm_h40", 784), ("mnist", "rplrnn_e120", 784)] + [
    ("addition", "rplrnn", T) for T in (100, 300)] + [
    ("multiplication", "rplrnn", T) for T in (200, 500)] + [
    ("multiplication", m, 400) for m in ("iplrnn", "irnn", "lstm")] + [
    ("mnist", "iplrnn", 784), ("mnist", "irnn", 784)]

# best-epoch test values from the authors' result files (REFERENCE §3; Schmidt et al., Fig. 2)
PUBLISHED = {
    ("addition", "rplrnn"): {100: 1.0, 200: 1.0, 300: 1.0, 400: 0.99, 500: 0.94, 600: 0.28,
                             700: 0.08},
    ("addition", "iplrnn"): {100: 1.0, 200: 1.0, 300: 1.0, 400: 0.36},
    ("addition", "irnn"): {300: 0.80},
    ("addition", "lstm"): {100: 0.85, 200: 0.08},
    ("multiplication", "rplrnn"): {100: 1.0, 200: 1.0, 300: 1.0, 400: 1.0, 600: 0.51,
                                   700: 0.46, 900: 0.16},
    ("multiplication", "iplrnn"): {300: 0.91},
    ("multiplication", "lstm"): {200: 0.41},
    ("mnist", "rplrnn"): {784: 0.955},
    ("mnist", "lstm"): {784: 0.935},
    ("mnist", "lstm_h40"): {784: 0.935},
    ("mnist", "rplrnn_e120"): {784: 0.955},
    ("mnist", "iplrnn"): {784: 0.91},
    ("mnist", "irnn"): {784: 0.75},
    ("mnist", "plrnn"): {784: 0.38},
}
# Row models that are a shipped config plus overrides. "lstm_h40": the LSTM at the size of
# the authors' published runs (their Fig. 2 script selects LSTM runs with d_hidden = 40,
# 500 epochs), where the paper's text (Sect. 4.1) and the shipped config give it M/4 = 10 units.
# "rplrnn_e120": the MNIST rPLRNN with the cosine over 120 epochs, as the other tasks (the
# shipped MNIST rPLRNN config runs 200, the authors' epoch count, which reaches the
# published accuracy where 120 fell short).
VARIANTS = {"lstm_h40": ("lstm", ["model.lstm_units=40"]),
            "rplrnn_e120": ("rplrnn", ["train.epochs=120"])}
PAPER_TEXT = ["train.batch_size=16", "train.clip_norm=10", "train.schedule=constant",
              "train.epochs=100", "model.learn_z0=true"]
AUTHORS_CONSTANT = ["train.schedule=constant", "train.epochs=200"]
PROTOCOLS = {"authors_cosine": [],  # the configs as shipped
             "paper_text": PAPER_TEXT,
             "authors_code": AUTHORS_CONSTANT + ["model.learn_z0=true"],
             "authors_code_z0": AUTHORS_CONSTANT + ["model.learn_z0=false"]}
FIELDS = ["task", "model", "T", "protocol", "seed", "status", "best_frac_correct", "best_epoch",
          "final_frac_correct", "final_epoch", "best_test_loss", "target", "time_to_target_s",
          "epoch_to_target", "wall_time_s", "s_per_epoch", "published", "stop_reason"]


def _interrupt(signum, frame):  # SIGTERM (a logout, a job limit) leaves a clean summary behind
    raise KeyboardInterrupt


def row_name(task, model, T):
    return f"{task}_{model}" + ("" if task == "mnist" else f"_T{T}")


def run_row(task, model, T, args) -> dict | None:
    name = row_name(task, model, T)
    # seed 0's run directories keep their names; other seeds get their own
    run_dir = pathlib.Path(args.out) / "rundirs" / args.protocol / (
        name if args.seed == 0 else f"{name}_seed{args.seed}")
    config_model, extra = VARIANTS.get(model, (model, []))
    overrides = [f"name={name}", f"seed={args.seed}"] + [
        o for o in PROTOCOLS[args.protocol]  # only the PLRNN family has an initial state to learn
        if config_model in PLRNN_MODELS or not o.startswith("model.learn_z0")] + extra
    overrides.append(f"train.patience={args.patience if args.patience > 0 else 'null'}")
    if task == "mnist":
        overrides.append(f"task.data_dir={args.mnist_dir}")
    else:
        overrides.append(f"task.T={T}")
    resume = (run_dir / "last.eqx").is_file()
    config = None if resume else load_config(ROOT / "configs" / f"{task}_{config_model}.yaml",
                                           overrides)
    if not resume and run_dir.exists():  # killed before its first checkpoint: start afresh
        import shutil

        shutil.rmtree(run_dir)
    print(f"[{'resume' if resume else 'train'}] {name} ({time.strftime('%H:%M:%S')})", flush=True)
    try:
        summary = train(config, run_dir, resume=resume, progress=True)
    except TrainingDiverged as e:
        print(f"[diverged] {name}: {e}", flush=True)
        summary = json.loads((run_dir / "summary.json").read_text())
    if summary["status"] == "interrupted":
        return None
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()
               if x.strip()]
    records = [r for r in records if "test_frac_correct" in r]
    target = 0.9 if task == "mnist" else 0.99
    hit = next((r for r in records if r["test_frac_correct"] >= target), None)
    final = records[-1] if records else None
    return {"task": task, "model": model, "T": T, "protocol": args.protocol, "seed": args.seed,
            "status": summary["status"],
            "best_frac_correct": summary["best_test_frac_correct"],
            "best_epoch": summary["best_epoch"],
            "final_frac_correct": final["test_frac_correct"] if final else None,
            "final_epoch": final["epoch"] if final else None,
            "best_test_loss": summary["best_test_loss"], "target": target,
            "time_to_target_s": hit["elapsed_s"] if hit else None,
            "epoch_to_target": hit["epoch"] if hit else None,
            "wall_time_s": summary["wall_time_s"],
            "s_per_epoch": round(final["elapsed_s"] / final["epoch"], 2) if final else None,
            "published": PUBLISHED.get((task, model), {}).get(T),
            "stop_reason": summary.get("stop_reason") or summary.get("message", "")}


def read_rows(path: pathlib.Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def write_outputs(out: pathlib.Path, rows: list[dict]) -> None:
    from jaxrnn.training._checkpoint import write_csv, write_text

    write_csv(out / "results.csv", [{k: r.get(k) for k in FIELDS} for r in rows])
    f = lambda v, spec: "–" if v in (None, "", "None") else format(float(v), spec)  # noqa: E731
    lines = ["| task | model | T | protocol | seed | best frac. correct (epoch) | final (epoch) | "
             "published | time to 0.99 (MNIST 0.9) | wall time | status |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        tt = r["time_to_target_s"]
        lines.append(
            f"| {r['task']} | {r['model']} | {r['T']} | {r['protocol']} | {r['seed']} | "
            f"{f(r['best_frac_correct'], '.4f')} "
            f"({r['best_epoch']}) | {f(r['final_frac_correct'], '.4f')} ({r['final_epoch']}) | "
            f"{f(r['published'], '.3g')} | "
            f"{'not reached' if tt in (None, '', 'None') else f'{float(tt) / 60:.1f} min'} | "
            f"{float(r['wall_time_s']) / 60:.0f} min | {r['status']} |")
    write_text(out / "results.md", "\n".join(lines) + "\n")
    plot(out, rows)


def plot(out: pathlib.Path, rows: list[dict]) -> None:
    import matplotlib.pyplot as plt

    tasks = ["addition", "multiplication", "mnist"]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    colors = {}
    for j, task in enumerate(tasks):
        mine = [r for r in rows if r["task"] == task]
        markers = {"authors_cosine": "o-", "paper_text": "d-.", "authors_code": "s--",
                   "authors_code_z0": "^:"}
        for model in dict.fromkeys(r["model"] for r in mine):
            for protocol in dict.fromkeys(r["protocol"] for r in mine if r["model"] == model):
                pts = sorted((int(r["T"]), float(r["best_frac_correct"] or 0),
                              float(r["best_test_loss"] or "nan")) for r in mine
                             if r["model"] == model and r["protocol"] == protocol)
                style = markers.get(protocol, "o-")
                line, = axes[0, j].plot([q[0] for q in pts], [q[1] for q in pts], style,
                                        color=colors.get(model), label=f"{model} ({protocol})")
                colors[model] = line.get_color()
                axes[1, j].semilogy([q[0] for q in pts], [q[2] for q in pts], style,
                                    color=colors[model], label=f"{model} ({protocol})")
            pub = PUBLISHED.get((task, model), {})
            if pub:
                ks = sorted(pub)
                axes[0, j].plot(ks, [pub[k] for k in ks], "x:", color=colors[model],
                                label=f"{model} (published)")
        axes[0, j].set_title("sequential MNIST" if task == "mnist" else f"{task} problem")
        axes[0, j].set_ylabel("best test " + ("accuracy" if task == "mnist" else
                                               "fraction correct"))
        axes[0, j].set_ylim(-0.02, 1.02)
        axes[1, j].set_ylabel("best-epoch test loss" + (" (cross-entropy)" if task == "mnist"
                                                          else " (squared error)"))
        for ax in axes[:, j]:
            ax.set_xlabel("sequence length T")
        if axes[0, j].get_legend_handles_labels()[0]:
            axes[0, j].legend(fontsize=7)
    fig.suptitle("rPLRNN paper Fig. 2 with jaxrnn (M = 40, full size, seed 0; crosses: the "
                 "authors' result files)", fontsize=10)
    fig.tight_layout()
    tmp = out / ".fig2.tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, out / "fig2.png")
    docs = ROOT / "docs" / "figures"  # the docs' results page shows it
    if docs.is_dir() and out.resolve() == (ROOT / "experiments" / "fig2").resolve():
        import shutil

        shutil.copyfile(out / "fig2.png", docs / "fig2.png")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", nargs="+", default=["required"], choices=["required", "extra"])
    p.add_argument("--protocol", default="authors_cosine", choices=list(PROTOCOLS))
    p.add_argument("--patience", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mnist-dir", default=os.environ.get(
        "JAXRNN_DATA", str(ROOT.parent / "shared" / "data" / "mnist")))
    p.add_argument("--only", nargs="+", default=None, metavar="TASK_MODEL[_T]",
                   help="run only these rows, e.g. addition_rplrnn_T200 mnist_lstm")
    p.add_argument("--out", default="experiments/fig2")
    p.add_argument("--report-only", action="store_true",
                   help="train nothing: rewrite results.md and fig2.png from results.csv")
    args = p.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    signal.signal(signal.SIGTERM, _interrupt)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plan = [r for group in args.rows for r in {"required": REQUIRED, "extra": EXTRA}[group]]
    if args.only:
        plan = [r for r in plan if row_name(*r) in args.only]
    rows = read_rows(out / "results.csv")
    if args.report_only:
        write_outputs(out, rows)
        return 0
    done = {(r["task"], r["model"], int(r["T"]), r["protocol"], int(r["seed"])) for r in rows}
    for task, model, T in plan:
        if (task, model, T, args.protocol, args.seed) in done:
            print(f"[skip] {row_name(task, model, T)}: in results.csv", flush=True)
            continue
        try:
            row = run_row(task, model, T, args)
        except KeyboardInterrupt:
            row = None
        if row is None:  # exit 130, as the CLI does, so that a queue of commands stops here
            print("[interrupted] rerun the same command to resume", flush=True)
            return 130
        rows.append(row)
        write_outputs(out, rows)
        print(f"[done] {row_name(task, model, T)}: best {row['best_frac_correct']} "
              f"(epoch {row['best_epoch']}), {row['status']}", flush=True)
    if rows:
        write_outputs(out, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

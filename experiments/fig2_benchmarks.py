"""Fig. 2 of the rPLRNN paper (Schmidt et al., Sect. 4.1) as a comparison: every model of
Table 1 at the lengths where it succeeds and fails, a population of seeds per point,
beside the authors' own numbers.

The grid and the published values come from the authors' result files as recomputed in
``shared/published/fig2_authors_results.md`` (parsed by this script into
``--out/published.csv``, which is committed, so the report also works without the
shared folder). Each point (task, model, T) trains ``configs/<task>_<model>.yaml`` with
``task.T`` set as ONE vmapped population of seeds (`jaxrnn.training.train_population`),
in ``--out/populations/<protocol>/<task>_<model>_T<T>/``.

Protocols:

- ``authors`` (default): the authors' runs as their Fig. 2 script selects them
  (B = 500, clip 3, Adam 1e-3 constant, 200 epochs, learned μ₀ for the PLRNN family;
  the LSTM with 40 units and 500 epochs), the baselines initialised as the authors'
  code does (``model.init=authors``), the L2RNN without its penalty (``model.l2=0``: the
  authors' code forces it to 0, so their L2RNN runs are RNN runs).
- ``authors_jaxrnn_init``: the same with jaxrnn's own baselines (their initialisation and
  the L2RNN's penalty, ``model.l2`` as configured).
- ``shipped``: the configs as shipped (cosine over 120 epochs, z₀ = 0, LSTM M/4 = 10).

``--stop-at`` (default 0.99) ends a seed once its test fraction correct reaches it: a
solved point stops early (results.csv says how many seeds stopped there); 0 turns it off.

Points:

- default (the required subset): for RNN, npRNN, PLRNN, L2RNN, iRNN, iPLRNN and LSTM on
  addition and multiplication, the longest T whose published mean is ≥ 0.9 (none: the
  shortest published T) and the shortest T whose published mean is < 0.5; the rPLRNN at
  addition T ∈ {100, 300, 400, 500, 600} and multiplication T ∈ {100, 400, 600}; seeds
  0–2; sequential MNIST with the iPLRNN and the iRNN, seed 0. Cheapest first, so the
  longest runs come last. An LSTM point of this subset is done once it is measured under
  the authors' protocol (40 units, 500 epochs) or, as the issue allows where the time does
  not, under the shipped one (10 units, 120 epochs; the row says so): at T = 200 the
  authors' protocol takes about 13 h of a 2-core CPU. ``--only NAME`` runs the authors'
  point anyway.
- ``--all``: every published point of the eight models.

**Resumable**: a finished point is skipped (its row is in ``points.jsonl``); an
interrupted one resumes from its population directory. Kill it at any time and start the
same command again. A point longer than the time a machine is held carries over in git:
stop the runner (SIGTERM: the population checkpoints and ends as interrupted), commit the
point's population directory with its checkpoint (``git add -f .../last.eqx``; finished
points keep only their members' files), and start the runner again from a checkout of
that commit; the resumed run equals an uninterrupted one, and ``wall`` adds up the
pieces. Resume only under unchanged training code; the row records the commit that
finished the point. Several runners may share the grid (one per core, or ``--only`` for
one point): a point another runner is training is skipped (``[busy]``, its population
directory's lock), and one that another finished meanwhile is not run again. After
every point: ``results.csv`` (one row per point: n seeds, n diverged, mean ± SEM over
all seeds, mean ± SEM over the seeds that did not diverge (the authors' convention), the
published mean ± SEM (n), the protocol, the verdict), ``results.md`` (with the points not
run yet, and how far each started one has trained) and ``fig2.png``. Rows of earlier
single-seed runs (``single_runs.csv``, run directories under ``rundirs/``) are included
as points of their own protocols.

    nohup python experiments/fig2_benchmarks.py --out experiments/fig2 > runs/fig2.log 2>&1 &
    python experiments/fig2_benchmarks.py --out experiments/fig2 --plan      # the plan only
    python experiments/fig2_benchmarks.py --out experiments/fig2 --report    # collect only
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
TASKS = ("addition", "multiplication", "mnist")
# the authors' labels → jaxrnn's model names (oRNN and the L2pPLRNN/L2fPLRNN have none)
LABELS = {"RNN": "rnn", "iRNN": "irnn", "npRNN": "nprnn", "PLRNN": "plrnn",
          "iPLRNN": "iplrnn", "rPLRNN": "rplrnn", "LSTM": "lstm", "L2RNN": "l2rnn"}
MODELS = ("rnn", "nprnn", "plrnn", "l2rnn", "irnn", "iplrnn", "lstm", "rplrnn")
BASELINES = ("rnn", "nprnn", "plrnn", "l2rnn", "irnn", "iplrnn", "lstm")
RPLRNN_REQUIRED = {"addition": (100, 300, 400, 500, 600), "multiplication": (100, 400, 600)}
MNIST_REQUIRED = ("iplrnn", "irnn")
CHANCE = {"addition": (0.0783, 0.166), "multiplication": (0.11, 0.049), "mnist": (0.1, 2.3)}
PROTOCOLS = {
    "authors": ["train.schedule=constant", "train.epochs=200", "model.learn_z0=true",
                "model.init=authors"],
    # the authors' protocol with jaxrnn's own initialisation of the baselines (the
    # baselines' first populations were measured so, before model.init: authors existed)
    "authors_jaxrnn_init": ["train.schedule=constant", "train.epochs=200",
                            "model.learn_z0=true"],
    "shipped": [],
}
AUTHORS_PROTOCOLS = ("authors", "authors_jaxrnn_init")
# per model, what the authors' selected runs had besides the protocol: the LSTM 40 units
# and 500 epochs; the L2RNN no penalty (their training.py forces its τ to 0)
MODEL_AUTHORS = {"lstm": ["model.lstm_units=40", "train.epochs=500"], "l2rnn": ["model.l2=0"]}
FIELDS = ["task", "model", "T", "protocol", "n_seeds", "n_diverged", "n_stopped",
          "mean", "sem", "n_kept", "mean_kept", "sem_kept", "loss_mean", "loss_sem",
          "published_mean", "published_sem", "published_n", "published_loss", "verdict",
          "epochs", "wall_s", "seeds", "measured", "commit"]


# ---------------------------------------------------------------- the published table
def _cell(text: str):
    m = re.match(r"\s*([0-9.e+-]+) ± ([0-9.e+-]+) \((\d+)\)", text)
    return (float(m[1]), float(m[2]), int(m[3])) if m else None


def parse_published(md: pathlib.Path) -> list[dict]:
    """Every (task, model, T) cell of the shared table: P_correct mean ± SEM (n) and the
    best-epoch test loss (MSE; MNIST: cross-entropy)."""
    text, rows, loss = md.read_text(), {}, {}
    sections = re.split(r"^### ", text, flags=re.M)
    for sec in sections:
        head = sec.splitlines()[0] if sec else ""
        task = ("addition" if head.startswith("Addition problem") else "multiplication"
                if head.startswith("Multiplication problem") else None)
        if head.startswith("Sequential MNIST"):
            task = "mnist"
        if task is None:
            continue
        is_loss = "test MSE" in head
        lines = [ln for ln in sec.splitlines() if ln.startswith("|")]
        if task == "mnist":  # the wide table: mean P_correct, true SEM, n non-NaN, CE loss
            for ln in lines[2:]:
                c = [x.strip() for x in ln.strip("|").split("|")]
                if len(c) == 9 and c[0] in LABELS:
                    ce = _cell(c[8] + " (0)")
                    rows[("mnist", LABELS[c[0]], 784)] = dict(
                        mean=float(c[3]), sem=float(c[5]), n=int(c[2]),
                        loss=ce[0] if ce else None)
            continue
        ts = [int(x.strip()[2:]) for x in lines[0].strip("|").split("|")[1:]]
        for ln in lines[2:]:
            c = [x.strip() for x in ln.strip("|").split("|")]
            label = c[0].replace(" (not plotted)", "")
            if label not in LABELS:
                continue
            for T, cell in zip(ts, c[1:]):
                v = _cell(cell)
                if v is None:
                    continue
                key = (task, LABELS[label], T)
                if is_loss:
                    loss[key] = v[0]
                else:
                    rows[key] = dict(mean=v[0], sem=v[1], n=v[2])
    out = []
    for (task, model, T), r in sorted(rows.items(), key=lambda kv: (TASKS.index(kv[0][0]),
                                                                     MODELS.index(kv[0][1]),
                                                                     kv[0][2])):
        out.append({"task": task, "model": model, "T": T, "mean": r["mean"], "sem": r["sem"],
                    "n": r["n"], "loss": r.get("loss", loss.get((task, model, T)))})
    return out


def load_published(out: pathlib.Path, md: pathlib.Path | None) -> dict:
    path = out / "published.csv"
    if md is not None and md.suffix == ".csv" and md.is_file():  # an earlier parse
        if md.resolve() != path.resolve():
            path.write_text(md.read_text())
    elif md is not None and md.is_file():
        rows = parse_published(md)
        if not rows:
            raise SystemExit(f"{md}: no published table found")
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    if not path.is_file():
        raise SystemExit(f"{path} is missing and no --published table was found: pass "
                         "--published shared/published/fig2_authors_results.md")
    with open(path) as f:
        return {(r["task"], r["model"], int(r["T"])): {
            "mean": float(r["mean"]), "sem": float(r["sem"]), "n": int(r["n"]),
            "loss": float(r["loss"]) if r["loss"] else None} for r in csv.DictReader(f)}


# ---------------------------------------------------------------- which points
def required_points(pub: dict) -> list[tuple[str, str, int, int]]:
    """(task, model, T, n_seeds) of the required subset (see the module)."""
    pts = []
    for task in ("addition", "multiplication"):
        for model in BASELINES:
            grid = sorted((T, v["mean"]) for (t, m, T), v in pub.items()
                          if t == task and m == model)
            good = [T for T, mean in grid if mean >= 0.9]
            bad = [T for T, mean in grid if mean < 0.5]
            chosen = {good[-1] if good else grid[0][0]} | ({bad[0]} if bad else set())
            pts += [(task, model, T, 3) for T in sorted(chosen)]
        pts += [(task, "rplrnn", T, 3) for T in RPLRNN_REQUIRED[task]]
    pts += [("mnist", m, 784, 1) for m in MNIST_REQUIRED]
    return pts


def all_points(pub: dict) -> list[tuple[str, str, int, int]]:
    return [(t, m, T, 1 if t == "mnist" else 3) for (t, m, T) in pub]


def cost(point, protocol: str) -> float:
    """Relative cost (time steps × updates × seeds) for ordering the plan."""
    task, model, T, n = point
    updates = 120 * 200 if task == "mnist" else 200 * 200  # per epoch × epochs, authors'
    if model == "lstm" and protocol in AUTHORS_PROTOCOLS:
        updates *= 2.5 * 3  # 500 epochs; 40 LSTM units (four gates) cost about 3×
    return T * updates * n


def name(task: str, model: str, T: int) -> str:
    return f"{task}_{model}_T{T}"


# ---------------------------------------------------------------- one point
def seed_records(member_dir: pathlib.Path, target: float) -> dict:
    """One seed's values as the authors' result files hold them: the max over epochs of
    the test fraction correct and, separately, the min of the test loss."""
    s = json.loads((member_dir / "summary.json").read_text())
    recs = [json.loads(x) for x in (member_dir / "metrics.jsonl").read_text().splitlines()
            if x.strip()]
    recs = [r for r in recs if "test_frac_correct" in r]
    fc = [r["test_frac_correct"] for r in recs]
    losses = [r["test_loss"] for r in recs if math.isfinite(r["test_loss"])]
    hit = next((r for r in recs if r["test_frac_correct"] >= target), None)
    return {"status": s["status"], "best": max(fc) if fc else float("nan"),
            "loss": min(losses) if losses else float("nan"),
            "epochs": recs[-1]["epoch"] if recs else 0, "wall_s": s["wall_time_s"],
            "epoch_to_target": hit["epoch"] if hit else None}


def protocol_overrides(model: str, protocol: str) -> list[str]:
    """The config overrides of ``protocol`` for ``model``."""
    from jaxrnn.training._model_zoo import PLRNN_MODELS

    overrides = []
    for o in PROTOCOLS[protocol]:  # only the PLRNN family has an initial state; its
        plrnn = model in PLRNN_MODELS  # default init is the authors' (iPLRNN: identity)
        if not o.startswith("model.learn_z0" if not plrnn else "model.init"):
            overrides.append(o)
    if protocol == "authors" or (model == "lstm" and protocol in AUTHORS_PROTOCOLS):
        overrides += MODEL_AUTHORS.get(model, [])
    return overrides


def run_point(point, args, commit: str) -> dict | None:
    from jaxrnn.training import load_config, train_population

    task, model, T, n = point
    run_dir = args.out / "populations" / args.protocol / name(task, model, T)
    overrides = [f"name={name(task, model, T)}", *protocol_overrides(model, args.protocol)]
    if args.stop_at > 0:
        overrides.append(f"train.stop_at={args.stop_at}")
    overrides.append(f"task.data_dir={args.mnist_dir}" if task == "mnist" else f"task.T={T}")
    overrides += args.set
    seeds = args.seeds[:n]
    resume = (run_dir / "population.yaml").is_file()
    base = None if resume else load_config(ROOT / "configs" / f"{task}_{model}.yaml", overrides)
    changes = None if resume else [{"name": f"seed{s}", "seed": s} for s in seeds]
    print(f"[{'resume' if resume else 'train'}] {run_dir} ({time.strftime('%H:%M:%S')})",
          flush=True)
    summaries = train_population(base, changes, run_dir, resume=resume, progress=True,
                                 data_dir=args.mnist_dir if task == "mnist" else None,
                                 stop=lambda: STOP[0])
    if any(s["status"] == "interrupted" for s in summaries):
        return None
    members = sorted((run_dir / "members").iterdir())
    target = 0.9 if task == "mnist" else 0.99
    recs = [seed_records(d, target) for d in members]
    wall = json.loads((run_dir / "summary.json").read_text())["members"][0]["wall_time_s"]
    return {"task": task, "model": model, "T": T, "protocol": args.protocol,
            "seeds": [int(d.name.removeprefix("seed")) for d in members], "records": recs,
            "wall_s": wall, "measured": time.strftime("%Y-%m-%d"), "commit": commit}


# ---------------------------------------------------------------- the table
def _mean_sem(xs):
    xs = [x for x in xs if math.isfinite(x)]
    if not xs:
        return float("nan"), float("nan")
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, sd / math.sqrt(len(xs))


def point_row(p: dict, pub: dict) -> dict:
    recs = p["records"]
    kept = [r for r in recs if r["status"] != "diverged"]
    mean, sem = _mean_sem([r["best"] for r in recs])
    mk, sk = _mean_sem([r["best"] for r in kept])
    # the loss as the fraction correct: over the seeds that did not diverge, or, when all
    # did, over their best epochs before it (as the verdict below)
    lm, ls = _mean_sem([r["loss"] for r in (kept or recs)])
    base_model = p["model"].split("_")[0]
    ref = pub.get((p["task"], base_model, int(p["T"])))
    row = {"task": p["task"], "model": p["model"], "T": p["T"], "protocol": p["protocol"],
           "n_seeds": len(recs), "n_diverged": len(recs) - len(kept),
           "n_stopped": sum(r["status"] == "stopped_early" for r in recs),
           "mean": mean, "sem": sem, "n_kept": len(kept), "mean_kept": mk, "sem_kept": sk,
           "loss_mean": lm, "loss_sem": ls, "epochs": max(r["epochs"] for r in recs),
           "wall_s": p["wall_s"], "seeds": " ".join(map(str, p["seeds"])),
           "measured": p.get("measured", ""), "commit": p.get("commit", "")}
    if ref:
        row.update(published_mean=ref["mean"], published_sem=ref["sem"],
                   published_n=ref["n"], published_loss=ref["loss"])
        # one seed is one draw from the distribution of runs: its SEM is their spread,
        # the published SEM × √n (as the authors' n runs estimate it)
        one = math.sqrt(ref["n"]) * ref["sem"]
        if math.isfinite(mk):
            row["verdict"] = verdict(mk, one if len(kept) == 1 else sk, ref)
        elif math.isfinite(mean):
            row["verdict"] = ("all diverged; best before: "
                              + verdict(mean, one if len(recs) == 1 else sem, ref))
        else:  # no seed had a finite epoch: nothing to compare
            row["verdict"] = "all diverged in their first epoch"
    else:
        row.update(published_mean=None, published_sem=None, published_n=None,
                   published_loss=None, verdict="no published point")
    return row


def verdict(mean: float, sem: float, ref: dict) -> str:
    """Agreement: within 2 SEM (ours and theirs combined; 0.05 where both are 0; for one
    seed, ours is the spread of the authors' runs, see `point_row`), but
    never stricter than 2 binomial standard errors of a 10,000-trial test set,
    2 √(p(1 − p)/10⁴) at the published p (a single seed at chance has SEM 0); a point
    both solve (≥ 0.99) agrees."""
    if mean >= 0.99 and ref["mean"] >= 0.99:
        return "agrees (solved)"
    s = math.sqrt(sem**2 + ref["sem"] ** 2)
    p = ref["mean"]
    tol = max(2 * s if s > 0 else 0.05, 2 * math.sqrt(p * (1 - p) / 1e4))
    d = mean - ref["mean"]
    return "agrees" if abs(d) <= tol else f"misses ({d:+.4f}, tol {tol:.4f})"


def legacy_points(out: pathlib.Path) -> list[dict]:
    """Earlier single-seed runs (``single_runs.csv``) as points of their protocols."""
    path = out / "single_runs.csv"
    if not path.is_file():
        return []
    groups: dict = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            proto = "shipped" if r["protocol"] == "authors_cosine" else r["protocol"]
            T = 784 if r["task"] == "mnist" else int(r["T"])
            g = groups.setdefault((r["task"], r["model"], T, proto),
                                  {"task": r["task"], "model": r["model"], "T": T,
                                   "protocol": proto, "seeds": [], "records": [], "wall_s": 0.0,
                                   "measured": "2026-11-22 to 24", "commit": ""})
            g["seeds"].append(int(r["seed"]))
            g["wall_s"] += float(r["wall_time_s"])
            g["records"].append({"status": r["status"], "best": float(r["best_frac_correct"]),
                                 "loss": float(r["best_test_loss"] or "nan"),
                                 "epochs": int(r["final_epoch"] or 0)})
    return list(groups.values())


def read_points(out: pathlib.Path) -> list[dict]:
    path = out / "points.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] \
        if path.is_file() else []


def _f(v, spec=".3f"):
    return "–" if v in (None, "") or (isinstance(v, float) and math.isnan(v)) \
        else format(float(v), spec)


def write_report(out: pathlib.Path, pub: dict, todo: list[tuple[str, str]],
                 substituted: list[str] | None = None) -> None:
    rows = [point_row(p, pub) for p in legacy_points(out) + read_points(out)]
    rows.sort(key=lambda r: (TASKS.index(r["task"]), r["protocol"] != "authors", r["model"],
                             int(r["T"])))
    tmp = out / ".results.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows({k: r.get(k) for k in FIELDS} for r in rows)
    os.replace(tmp, out / "results.csv")
    hours = sum(float(r["wall_s"]) for r in rows if r["commit"]) / 3600
    lines = [f"Fig. 2 points: {len(rows)} measured ({hours:.2f} h of wall time for the "
             "populations; single runs from earlier not counted). Values: best-epoch test "
             "fraction correct (MNIST: accuracy) per seed, then mean ± SEM over seeds.", "",
             "| task | model | T | protocol | seeds (diverged, stopped at target) | mean ± SEM, "
             "all seeds | mean ± SEM, not diverged | published (n) | verdict | epochs | wall | "
             "measured |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        pubtxt = (f"{_f(r['published_mean'])} ± {_f(r['published_sem'], '.4f')} "
                  f"({r['published_n']})" if r["published_mean"] is not None else "–")
        lines.append(
            f"| {r['task']} | {r['model']} | {r['T']} | {r['protocol']} | {r['n_seeds']} "
            f"({r['n_diverged']}, {r['n_stopped']}) | {_f(r['mean'])} ± {_f(r['sem'], '.4f')} "
            f"| {_f(r['mean_kept'])} ± {_f(r['sem_kept'], '.4f')} | {pubtxt} | {r['verdict']} "
            f"| {r['epochs']} | {float(r['wall_s']) / 60:.0f} min | {r['measured']}"
            f"{' at ' + r['commit'] if r['commit'] else ''} |")
    if todo:
        lines += ["", f"Not run yet, {len(todo)} points (in the order the runner takes them: "
                  f"those already started first, then the cheapest; {todo[0][1]} runs them): "
                  + ", ".join(t[0] for t in todo) + "."]
    if substituted:
        lines += ["", "Measured under the shipped protocol in place of the authors' (the LSTM "
                  "with 40 units and 500 epochs, about 13 h per point at T = 200 on a 2-core "
                  "CPU): " + ", ".join(substituted) + "; `python experiments/fig2_benchmarks.py"
                  f" --out {out} --only NAME` runs the authors' point."]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    plot(out, rows, pub)
    lstm_curves(out)


# ---------------------------------------------------------------- the figure
COLORS = {"rnn": "tab:gray", "nprnn": "tab:brown", "plrnn": "tab:pink", "l2rnn": "tab:olive",
          "irnn": "tab:orange", "iplrnn": "tab:green", "lstm": "tab:purple",
          "rplrnn": "tab:red", "lstm_h40": "tab:blue", "rplrnn_e120": "tab:cyan"}
STYLES = {"authors": "o-", "authors_jaxrnn_init": "v-.", "shipped": "s--", "paper_text": "d:",
          "authors_code_z0": "^:"}


def plot(out: pathlib.Path, rows: list[dict], pub: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5),
                             gridspec_kw={"width_ratios": [1.2, 1.2, 1]})
    for j, task in enumerate(TASKS):
        top, bottom = axes[0, j], axes[1, j]
        mine = [r for r in rows if r["task"] == task]
        if task == "mnist":
            variants = [m for m in dict.fromkeys(r["model"] for r in mine) if m not in MODELS]
            names = list(MODELS) + variants
            protos = list(dict.fromkeys(r["protocol"] for r in mine))
            w = 0.8 / max(len(protos), 1)
            for r in mine:
                k = names.index(r["model"]) + (protos.index(r["protocol"]) - (len(protos) - 1)
                                               / 2) * w
                c, hatch = COLORS.get(r["model"], "k"), (None if r["protocol"] == "authors"
                                                         else "//")
                bottom.bar(k, r["mean"], w, yerr=r["sem"] or 0, color=c, alpha=0.7, hatch=hatch)
                top.bar(k, r["loss_mean"], w, yerr=r["loss_sem"] or 0, color=c, alpha=0.7,
                        hatch=hatch)
            for k, model in enumerate(names):
                ref = pub.get((task, model, 784))
                if ref:
                    c = COLORS[model]
                    bottom.errorbar(k, ref["mean"], yerr=ref["sem"], fmt="D", mfc="none",
                                    color=c, ms=7, capsize=2)
                    if ref["loss"] is not None:
                        top.plot(k, ref["loss"], "D", mfc="none", color=c, ms=7)
            for ax in (top, bottom):
                ax.set_xticks(range(len(names)), names, fontsize=7, rotation=45)
            top.set_yscale("log")
        else:
            for model, proto in dict.fromkeys((r["model"], r["protocol"]) for r in mine):
                pts = sorted((int(r["T"]), r) for r in mine
                             if (r["model"], r["protocol"]) == (model, proto))
                c, st = COLORS.get(model, "k"), STYLES.get(proto, "o-")
                Ts = [T for T, _ in pts]
                bottom.errorbar(Ts, [r["mean"] for _, r in pts],
                                yerr=[r["sem"] or 0 for _, r in pts], fmt=st, color=c,
                                capsize=2, ms=4)
                top.errorbar(Ts, [r["loss_mean"] for _, r in pts],
                             yerr=[r["loss_sem"] or 0 for _, r in pts], fmt=st, color=c,
                             capsize=2, ms=4)
            for model in MODELS:  # every model's published points, run or not
                ref = sorted((T, v) for (t, m, T), v in pub.items() if t == task and m == model)
                c = COLORS[model]
                bottom.errorbar([T for T, _ in ref], [v["mean"] for _, v in ref],
                                yerr=[v["sem"] for _, v in ref], fmt="D", mfc="none",
                                color=c, ms=5, alpha=0.7, capsize=2)
                top.plot([T for T, v in ref if v["loss"]], [v["loss"] for _, v in ref
                                                            if v["loss"]],
                         "D", mfc="none", color=c, ms=5, alpha=0.7)
            top.set_yscale("log")
            for ax in (top, bottom):
                ax.set_xlabel("sequence length T")
        chance_p, chance_l = CHANCE[task]
        bottom.axhline(chance_p, ls="--", color="k", lw=0.8)
        top.axhline(chance_l, ls="--", color="k", lw=0.8)
        bottom.set_ylim(-0.02, 1.05)
        title = {"addition": "addition problem", "multiplication": "multiplication problem",
                 "mnist": "sequential MNIST"}[task]
        top.set_title(title)
        top.set_ylabel("best test loss (MSE)" if task != "mnist" else "best test CE")
        bottom.set_ylabel("best test fraction correct" if task != "mnist" else "best accuracy")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, marker="o", ls="-", label=m) for m, c in COLORS.items()
               if m in MODELS or any(r["model"] == m for r in rows)]
    handles += [Line2D([], [], color="k", marker=STYLES[p][0], ls=STYLES[p][1:],
                       label=f"protocol {p}") for p in STYLES
                if any(r["protocol"] == p for r in rows)]
    handles += [Line2D([], [], color="k", marker="D", mfc="none", ls="",
                       label="published (authors' files)"),
                Line2D([], [], color="k", ls="--", label="chance")]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 9), fontsize=8)
    fig.suptitle("Fig. 2 (Schmidt et al.) with jaxrnn: mean ± SEM over seeds; open diamonds: "
                 "the authors' result files", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 0.97))
    tmp = out / ".fig2.tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, out / "fig2.png")
    docs = ROOT / "docs" / "figures"  # the results page shows the committed run's figure
    if docs.is_dir() and out.resolve() == (ROOT / "experiments" / "fig2").resolve():
        import shutil

        shutil.copyfile(out / "fig2.png", docs / "fig2.png")


def lstm_curves(out: pathlib.Path) -> None:
    """``mnist_lstm_curves.png``: test accuracy per epoch of the sequential-MNIST LSTM runs
    (10 units, the paper's text; 40 units, the published runs' size) under the shipped
    protocol, and 10 units under the authors' (their initialisation, constant rate, 200
    epochs), beside the authors' values for 40 units × 500 epochs (Fig. 2) and for 10
    units × 200 epochs at B = 500 (the same setting as the last run)."""
    runs = {"10 units, shipped": out / "rundirs" / "authors_cosine" / "mnist_lstm",
            "40 units, shipped": out / "rundirs" / "authors_cosine" / "mnist_lstm_h40",
            "10 units, authors' protocol": out / "rundirs" / "authors" / "mnist_lstm_h10"}
    curves = {}
    for label, d in runs.items():
        path = d / "metrics.jsonl"
        if path.is_file():
            recs = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
            curves[label] = [(r["epoch"], r["test_frac_correct"]) for r in recs
                             if "test_frac_correct" in r]
    if not curves:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for label, pts in curves.items():
        ax.plot([e for e, _ in pts], [a for _, a in pts], label=f"{label}, {len(pts)} epochs")
    ax.axhline(0.935, color="k", ls="--", lw=0.8, label="published (40 units, 500 epochs)")
    ax.axhline(0.619, color="C2", ls="--", lw=0.8,
               label="authors' 10 units, 200 epochs, B = 500 (0.619 ± 0.032, n = 8)")
    ax.axhline(0.1, color="gray", ls=":", lw=0.8, label="chance")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title("LSTM on sequential MNIST, seed 0 (shipped: cosine rate; authors': constant)",
                 fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "mnist_lstm_curves.png", dpi=100)
    plt.close(fig)
    docs = ROOT / "docs" / "figures"
    if docs.is_dir() and out.resolve() == (ROOT / "experiments" / "fig2").resolve():
        import shutil

        shutil.copyfile(out / "mnist_lstm_curves.png", docs / "mnist_lstm_curves.png")


# ---------------------------------------------------------------- main
def run_order(plan, out: pathlib.Path, protocol: str, *, lstm_substitute: bool = False) -> list:
    """The points of ``plan`` without a row in ``points.jsonl``: those already started (a
    population directory, e.g. one carried over in git) first, then the rest, each group
    in plan order. With ``lstm_substitute`` an LSTM point measured under the shipped
    protocol counts as done under the authors' ones (the required subset's rule)."""
    done = {(q["task"], q["model"], int(q["T"]), q["protocol"]) for q in read_points(out)}
    if lstm_substitute:
        done |= {(*q[:3], protocol) for q in lstm_substitutes(plan, out, protocol)}
    todo = [q for q in plan if (*q[:3], protocol) not in done]
    started = [(out / "populations" / protocol / name(*q[:3]) / "population.yaml").is_file()
               for q in todo]
    return [q for q, s in zip(todo, started) if s] + [q for q, s in zip(todo, started) if not s]


def lstm_substitutes(plan, out: pathlib.Path, protocol: str) -> list:
    """The LSTM points of ``plan`` with no row under the authors' ``protocol`` but one
    under the shipped protocol."""
    rows = {(q["task"], q["model"], int(q["T"]), q["protocol"]) for q in read_points(out)}
    return [q for q in plan if q[1] == "lstm" and protocol in AUTHORS_PROTOCOLS
            and (*q[:3], protocol) not in rows and (*q[:3], "shipped") in rows]


def progress(out: pathlib.Path, protocol: str, point) -> str:
    """How far a started point's population has trained: "; 99 of 200 epochs done", or ""
    for a point not started."""
    members = out / "populations" / protocol / name(*point[:3]) / "members"
    epochs, total = 0, None
    for m in sorted(members.glob("*/metrics.jsonl")) if members.is_dir() else []:
        lines = [x for x in m.read_text().splitlines() if x.strip()]
        epochs = max(epochs, json.loads(lines[-1])["epoch"] if lines else 0)
        cfg = m.parent / "config.yaml"
        if total is None and cfg.is_file():
            total = (yaml.safe_load(cfg.read_text()).get("train") or {}).get("epochs")
    return f"; {epochs} of {total} epochs done" if epochs and total else ""


STOP = [False]  # set by SIGTERM; training asks it after every chunk (a raise can be lost)


def _terminate(*_):
    STOP[0] = True
    raise KeyboardInterrupt


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("experiments/fig2"))
    p.add_argument("--all", action="store_true", help="every published point")
    p.add_argument("--protocol", default="authors", choices=list(PROTOCOLS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--stop-at", type=float, default=0.99,
                   help="end a seed at this test fraction correct (0: never)")
    p.add_argument("--only", nargs="+", default=None, metavar="TASK_MODEL_TT",
                   help="run only these points, e.g. addition_rnn_T20")
    p.add_argument("--published", type=pathlib.Path,
                   default=ROOT.parent / "shared" / "published" / "fig2_authors_results.md")
    p.add_argument("--mnist-dir", default=os.environ.get(
        "JAXRNN_DATA", str(ROOT.parent / "shared" / "data" / "mnist")))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="one more config override for every point (e.g. train.epochs=2)")
    p.add_argument("--plan", action="store_true", help="print the plan and stop")
    p.add_argument("--report", action="store_true", help="train nothing; rewrite the report")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    pub = load_published(args.out, args.published)
    plan = sorted(all_points(pub) if args.all else required_points(pub),
                  key=lambda q: cost(q, args.protocol))
    if args.only:
        plan = [q for q in plan if name(*q[:3]) in args.only]
    substitute = not (args.all or args.only)
    todo = run_order(plan, args.out, args.protocol, lstm_substitute=substitute)
    cmd = "python experiments/fig2_benchmarks.py --out " + str(args.out)
    run_cmd = f"`{cmd}{' --all' if args.all else ''} --protocol {args.protocol}`"
    todo_txt = [(f"{name(*q[:3])} ({q[3]} seed{'s' if q[3] > 1 else ''}"
                 f"{progress(args.out, args.protocol, q)})", run_cmd) for q in todo]
    subs = ([name(*q[:3]) for q in lstm_substitutes(plan, args.out, args.protocol)]
            if substitute else [])
    if args.plan:
        total = sum(cost(q, args.protocol) for q in plan)
        for q in todo + [q for q in plan if q not in todo]:  # in the order they run
            print(f"{name(*q[:3]):32s} seeds {q[3]}  share {cost(q, args.protocol) / total:6.1%}"
                  f"  {'done' if q not in todo else ''}")
        return 0
    if args.report or not todo:
        write_report(args.out, pub, todo_txt, subs)
        return 0
    signal.signal(signal.SIGTERM, _terminate)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    from jaxrnn.training import RunInUse

    for k, q in enumerate(todo):
        if q not in run_order([q], args.out, args.protocol):
            continue  # finished meanwhile by another runner
        try:
            point = run_point(q, args, commit)
        except RunInUse as e:  # another runner trains it (its population directory's lock)
            print(f"[busy] {name(*q[:3])}: {e}; skipped", flush=True)
            continue
        except KeyboardInterrupt:
            point = None
        if point is None:
            print("[interrupted] run the same command again to resume", flush=True)
            return 130
        with open(args.out / "points.jsonl", "a") as f:
            f.write(json.dumps(point) + "\n")
        write_report(args.out, pub, todo_txt[k + 1:], subs)
        print(f"[done] {name(*q[:3])}: best per seed "
              f"{[round(r['best'], 4) for r in point['records']]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

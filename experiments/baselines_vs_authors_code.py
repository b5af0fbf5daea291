"""Every Fig. 2 model of jaxrnn against the authors' own code, given the same weights and
the same batch: the read-outs, the training loss (task loss plus the model's penalty) and
its gradient with respect to every parameter, in float64 on both sides.

    python experiments/baselines_vs_authors_code.py --authors-code ../reg-PLRNN \
        --out experiments/baselines_vs_authors_code

The authors' models come from their ``gdplrnn`` package (DurstewitzLab/reg-PLRNN; no
licence, so it is imported from a checkout the user supplies and never copied): their
``TrainingConfig`` and ``create_model`` build each network with their initialisation,
their ``compute_loss`` gives the loss (MSE of the last read-out, or cross-entropy for
MNIST, plus their ``regularization_loss``), and ``loss.backward()`` the gradient. Their
weights are then copied into the jaxrnn model the Fig. 2 runs train (``build_model``
with ``model.init: authors``), whose loss is jaxrnn's training loss: the benchmark
objective's batch loss plus `jaxrnn.training.regulariser`. Where one jaxrnn parameter
stands for two of theirs (nn.RNN's and nn.LSTM's two biases, which the cell only ever
adds), it is compared with each: the gradients of both are the gradient of their sum.

A mismatch in the equations, the gate order, the read-out, the initial state, the input
scaling, the loss reduction or the penalty shows up here as a relative difference far
above 1e-10. Writes ``results.md`` to ``--out``; seconds on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import datetime
import operator
import pathlib
import subprocess
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)  # this script's choice: float64 on both sides

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from _authors_code import _import_gdplrnn, commit_of  # noqa: E402

from jaxrnn.training import Trainer, config_from_dict, regulariser  # noqa: E402

# (label, jaxrnn model, authors' network_structure, extra jaxrnn model keys, authors' kw)
MODELS = [
    ("RNN", "rnn", "uninitialized", {}, {}),
    ("L2RNN (penalty 0, as their runs)", "l2rnn", "l2RNN", {"l2": 0.0}, {}),
    ("iRNN", "irnn", "IRNN", {}, {}),
    ("npRNN", "nprnn", "np_RNN", {}, {}),
    ("LSTM, 10 units", "lstm", "LSTM", {"lstm_units": 10}, {"d_hidden": 10}),
    ("LSTM, 40 units", "lstm", "LSTM", {"lstm_units": 40}, {}),
    ("PLRNN", "plrnn", "PLRNN", {}, {}),
    (
        "rPLRNN (τ = 5, 20 regularised units)",
        "rplrnn",
        "PLRNN",
        {"tau": 5.0},
        {"protected_dimension": 20, "tau_A": 5, "tau_W": 5, "W_regularization_scheme": "R"},
    ),
]
# (task, T, batch, the authors' problem name)
TASKS = [
    ("addition", 50, 32, "Addition"),
    ("multiplication", 50, 32, "Multiplication"),
    ("mnist", 784, 8, "MNIST"),
]


def _config(model: str, extra: dict, task: str, T: int, data_dir: str | None) -> dict:
    n_train = 64 if task != "mnist" else 16
    return {
        "name": "x",
        "seed": 0,
        "task": {
            "name": task,
            "T": T,
            "n_train": n_train,
            "n_test": 16,
            **({"data_dir": data_dir} if task == "mnist" else {}),
        },
        "model": {
            "name": model,
            "hidden_size": 40,
            "reduction": "mean",
            "init": "authors",
            **extra,
        },
        "train": {"batch_size": 8, "epochs": 1, "dtype": "float64"},
    }


def _authors_params(torch_model) -> dict:
    return {name: p for name, p in torch_model.named_parameters()}


def _to_jax(p) -> jnp.ndarray:
    return jnp.asarray(p.detach().numpy())


# jaxrnn parameter (attribute path) -> the authors' parameters it stands for: it equals
# their sum (nn.RNN's and nn.LSTM's two biases are only ever added by the cell)
PARAMETER_MAPS = {
    "plrnn": {
        "A": ["A.weight"],
        "W_raw": ["W.weight"],
        "h": ["W.bias"],
        "C": ["C"],
        "mu0": ["mu0"],
        "observation.B": ["B.weight"],
    },
    "lstm": {
        "W_x": ["rnn.weight_ih_l0"],
        "W_h": ["rnn.weight_hh_l0"],
        "bias": ["rnn.bias_ih_l0", "rnn.bias_hh_l0"],
        "V": ["output_weights.weight"],
        "c": ["output_weights.bias"],
    },
    "rnn": {
        "W": ["rnn.weight_hh_l0"],
        "U": ["rnn.weight_ih_l0"],
        "b": ["rnn.bias_ih_l0", "rnn.bias_hh_l0"],
        "V": ["output_weights.weight"],
        "c": ["output_weights.bias"],
    },
}


def _copy_weights(model, theirs: dict, kind: str):
    """The authors' parameters in the jaxrnn model; returns it, the map {jaxrnn path:
    [their names]} and a getter per jaxrnn path."""
    pairs = PARAMETER_MAPS[kind]
    getters = {k: operator.attrgetter(k) for k in pairs}
    for k, names in pairs.items():
        value = _to_jax(sum(theirs[n] for n in names))
        old = getters[k](model)
        if old.shape != value.shape:
            raise SystemExit(f"{k}: jaxrnn shape {old.shape}, the authors' {value.shape}")
        model = eqx.tree_at(getters[k], model, value.astype(old.dtype))
    return model, pairs, getters


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def compare(gd, model_entry, task_entry, data_dir) -> dict:
    """One (model, task): the largest relative differences of read-out, loss, gradient."""
    import torch

    datasets, training = gd
    label, name, structure, extra, their_kw = model_entry
    task, T, B, problem = task_entry
    cfg = config_from_dict(_config(name, extra, task, T, data_dir))
    trainer = Trainer(cfg)
    objective = trainer.objective
    x, y = (np.asarray(a) for a in objective.train_data)
    x, y = x[:B], y[:B]

    kw = {"d_hidden": 40, "seed": 1, **their_kw}
    t_config = training.TrainingConfig(
        network_structure=structure, problem=problem, learning_rate=1e-3, **kw
    )
    theirs = training.create_model(t_config).double()
    inputs = torch.from_numpy(x.astype(np.float64))
    if task == "mnist":
        target = torch.from_numpy(y.astype(np.int64))
    else:  # their target series: the sum/product at the last step
        target = torch.zeros((B, T, 1), dtype=torch.float64)
        target[:, -1, :] = torch.from_numpy(y.reshape(B, 1).astype(np.float64))
    out_t = theirs(inputs)
    loss_t = training.compute_loss(theirs, inputs, target)
    theirs.zero_grad()
    loss_t.sum().backward()
    params_t = _authors_params(theirs)

    kind = "plrnn" if name in ("plrnn", "rplrnn") else "lstm" if name == "lstm" else "rnn"
    model = objective.build_model(cfg, dtype=jnp.float64, key=jax.random.PRNGKey(0))
    model, pairs, getters = _copy_weights(model, params_t, kind)
    data = (jnp.asarray(x, jnp.float64), jnp.asarray(y))
    ids = jnp.arange(B)
    hyper = jax.tree_util.tree_map(lambda a: a[0], trainer.hyper)  # member 0 of 1
    params, static = eqx.partition(model, eqx.is_inexact_array)

    def loss_fn(p):
        m = eqx.combine(p, static)
        return objective.loss(m, data, ids, hyper) + regulariser(m, cfg.model, hyper)

    loss_j, grads = jax.value_and_grad(loss_fn)(params)
    from jaxrnn.training import predict

    out_j = jax.vmap(predict, (None, 0))(model, data[0])
    grad_rel = {}
    for k, names in pairs.items():
        g = getters[k](grads)
        for n in names:
            gt = params_t[n].grad
            grad_rel[f"{k} ~ {n}"] = _rel(g, gt.numpy())
    return {
        "label": label,
        "task": f"{task} T = {T}, B = {B}",
        "out": _rel(out_j, out_t.detach().numpy()),
        "loss": _rel(loss_j, loss_t.detach().numpy()),
        "grads": grad_rel,
        "loss_value": float(loss_j),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--authors-code",
        required=True,
        type=pathlib.Path,
        help="a checkout of https://github.com/DurstewitzLab/reg-PLRNN",
    )
    p.add_argument(
        "--out", type=pathlib.Path, default=ROOT / "experiments" / "baselines_vs_authors_code"
    )
    p.add_argument(
        "--data-dir",
        default=None,
        help="the MNIST IDX files (default: $JAXRNN_DATA or the repository's shared/data/mnist)",
    )
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        raise SystemExit("this comparison needs PyTorch: pip install torch==2.13.0") from None
    torch.set_num_threads(1)
    # float64 everywhere on their side too: their PLRNN without penalty adds a default-dtype
    # ``torch.zeros(1)``, which would otherwise round the whole loss to float32
    torch.set_default_dtype(torch.float64)
    _, datasets, training = _import_gdplrnn(args.authors_code)
    rows = []
    for task_entry in TASKS:
        for model_entry in MODELS:
            r = compare((datasets, training), model_entry, task_entry, args.data_dir)
            worst = max(r["grads"].values())
            print(
                f"{r['task']:>32} | {r['label']:<38} read-out {r['out']:.1e}  loss "
                f"{r['loss']:.1e}  worst gradient {worst:.1e}",
                flush=True,
            )
            rows.append(r)
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "# jaxrnn's Fig. 2 models against the authors' code: same weights, same batch",
        "",
        f"`python experiments/baselines_vs_authors_code.py --authors-code DIR`, measured "
        f"{datetime.date.today()} at {head} against DurstewitzLab/reg-PLRNN at "
        f"{commit_of(args.authors_code)}, torch {torch.__version__}, float64 on both sides. "
        "Largest relative difference (max |jaxrnn − theirs| / max |theirs|) of the "
        "read-outs, of the training loss (task loss plus penalty) and of the gradient of "
        "that loss per parameter; jaxrnn's single bias is compared with each of the two "
        "PyTorch biases it stands for.",
        "",
        "| task | model | read-out | loss | worst gradient | its parameter |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        name, worst = max(r["grads"].items(), key=lambda kv: kv[1])
        lines.append(
            f"| {r['task']} | {r['label']} | {r['out']:.1e} | {r['loss']:.1e} | "
            f"{worst:.1e} | {name} |"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

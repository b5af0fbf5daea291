"""Run the authors' own training code (DurstewitzLab/reg-PLRNN, package ``gdplrnn``) from a
checkout the user supplies, epoch by epoch, until the test fraction correct first reaches a
target. Nothing of that repository is copied here (it has no licence): this module imports
their package from the checkout and calls their own functions, with the settings of their
own ``main.py``/``default_config.yaml`` for the rPLRNN runs behind Fig. 2:

- ``TrainingConfig(network_structure='PLRNN', problem='Addition', d_hidden=40,
  protected_dimension=20, tau_A=5, tau_W=5, tau_C=0, learning_rate=1e-3,
  optimize_C=True, initialize_regulated='AWh', W_regularization_scheme='R',
  seed=seed)`` and ``create_model`` (their initialisation, learned μ₀);
- their ``AdditionProblemDataset`` (100,000 training trials, data seed 100; 10,000 test
  trials, data seed 101), train loader B = 500 shuffled, test loader B = 100 shuffled;
- ``torch.optim.Adam(lr=1e-3)`` and, per epoch, their ``train_model`` (clip 3) and
  ``evaluate_model`` (mean MSE, fraction with |error| < 0.04).

Their ``seed=0`` means "seed from the clock" (``create_model``), so seeds here are ≥ 1.
The wall time counts training and evaluation epochs (as jaxrnn's ``elapsed_s`` does);
building the data sets is timed separately. Resumable: after every epoch the model,
the optimiser and torch's random state (the loaders' shuffling) are saved to ``out``,
and the cumulative time to ``epochs.json``.

``gdplrnn.datasets`` imports torchvision for its MNIST loader only; when torchvision is
not installed an empty ``torchvision`` namespace is supplied for that import, and the
MNIST loader is never used here.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time
import types
import warnings


def _package_root(checkout: pathlib.Path) -> pathlib.Path:
    """The folder that holds ``gdplrnn``: the checkout's benchmark_run folder, or the
    checkout itself."""
    for cand in (checkout / "machine_learning_benchmarks" / "benchmark_run", checkout):
        if (cand / "gdplrnn" / "training.py").is_file():
            return cand
    raise SystemExit(
        f"--authors-code {checkout}: no gdplrnn/training.py there or under "
        "machine_learning_benchmarks/benchmark_run (clone "
        "https://github.com/DurstewitzLab/reg-PLRNN and pass its folder)"
    )


def _import_gdplrnn(checkout: pathlib.Path):
    root = _package_root(checkout)
    try:
        import torchvision  # noqa: F401
    except ImportError:
        tv = types.ModuleType("torchvision")
        tv.datasets = types.SimpleNamespace(MNIST=object)  # base class of their MNIST set
        tv.transforms = types.SimpleNamespace()
        sys.modules["torchvision"] = tv
    sys.path.insert(0, str(root))
    warnings.filterwarnings("ignore", category=UserWarning)  # their .data / Variable use
    from gdplrnn import datasets, training

    return root, datasets, training


def commit_of(checkout: pathlib.Path) -> str:
    """The checkout's git commit (short), or "unknown" outside git."""
    import subprocess

    try:
        return subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# The rPLRNN of their Fig. 2 runs (their TrainingConfig keywords besides the structure,
# the problem and the seed); their TrainingConfig drops these for the other structures.
RPLRNN = {
    "d_hidden": 40,
    "learning_rate": 1e-3,
    "protected_dimension": 20,
    "tau_A": 5,
    "tau_W": 5,
    "tau_C": 0,
    "optimize_C": True,
    "initialize_regulated": "AWh",
    "W_regularization_scheme": "R",
}


def run(
    checkout,
    out,
    *,
    T=200,
    seed=1,
    target=0.99,
    max_epochs=200,
    threads=None,
    train=True,
    log=print,
    structure="PLRNN",
    problem="Addition",
    settings=None,
    prepare=None,
) -> dict:
    """Train with the authors' code until the first epoch at ``>= target`` (or
    ``max_epochs``), resuming from ``out`` when it holds an unfinished run; with
    ``train=False`` only report what ``out`` holds.

    ``structure`` is their ``network_structure`` (``"PLRNN"``, ``"uninitialized"`` for
    the RNN, ``"np_RNN"``, ``"IRNN"``, ``"LSTM"``, ...), ``problem`` ``"Addition"`` or
    ``"Multiplication"``, ``settings`` their other ``TrainingConfig`` keywords
    (default: the rPLRNN's, `RPLRNN`). The loop is their ``main.py``'s: Adam at the
    configured rate, ``train_model`` (clip 3) and ``evaluate_model`` per epoch; a run
    ends as diverged where their ``main.py`` aborts (test MSE not finite or above 100).
    ``prepare(model)``, if given, changes their freshly built model before the optimiser
    sees it (an experiment on their code, named as such by the caller).

    Returns ``{"epochs", "seconds", "s_per_epoch", "best", "status", "data_s",
    "commit", "threads"}``; ``epochs``/``seconds`` are None when the target was missed.
    """
    import numpy as np
    import torch

    checkout, out = pathlib.Path(checkout).resolve(), pathlib.Path(out)
    if seed < 1:
        raise SystemExit("--authors-seed must be >= 1 (their seed 0 seeds from the clock)")
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "epochs.json"
    state = (
        json.loads(log_path.read_text())
        if log_path.is_file()
        else {"epochs": [], "status": "running"}
    )
    if state["status"] == "not_reached" and len(state["epochs"]) < max_epochs:
        state["status"] = "running"  # resumed with a larger epoch budget
    if threads:
        torch.set_num_threads(threads)
    result = {"commit": commit_of(checkout), "threads": torch.get_num_threads()}
    if state["status"] == "running" and train:
        _root, datasets, training = _import_gdplrnn(checkout)
        settings = dict(RPLRNN if settings is None else settings)
        t_config = training.TrainingConfig(
            network_structure=structure, problem=problem, seed=seed, **settings
        )
        model = training.create_model(t_config)
        if prepare is not None:
            prepare(model)
        dataset = {
            "Addition": datasets.AdditionProblemDataset,
            "Multiplication": datasets.MultiplicationDataset,
        }[problem]
        t0 = time.perf_counter()
        train_loader = dataset(T=T).get_loader(batch_size=500, shuffle=True, num_workers=0)
        test_loader = dataset(T=T, train=False).get_loader(
            batch_size=100, shuffle=True, num_workers=0
        )
        state["data_s"] = time.perf_counter() - t0
        optimizer = torch.optim.Adam(model.parameters(), lr=t_config.learning_rate)
        if (out / "last.pt").is_file():  # the checkpoint holds the log it was saved with
            ckpt = torch.load(out / "last.pt", weights_only=False)
            state = ckpt.get("state", state)
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            torch.set_rng_state(ckpt["torch_rng"])
            np.random.set_state(ckpt["numpy_rng"])
            if state["status"] == "not_reached" and len(state["epochs"]) < max_epochs:
                state["status"] = "running"
            log_path.write_text(json.dumps(state, indent=1))  # killed between the saves
        while state["status"] == "running":
            epoch = len(state["epochs"]) + 1
            t0 = time.perf_counter()
            training.train_model(model, train_loader, optimizer)
            mse, frac = training.evaluate_model(model, test_loader)
            elapsed = (
                time.perf_counter()
                - t0
                + (state["epochs"][-1]["elapsed_s"] if state["epochs"] else 0.0)
            )
            mse = float(mse.detach()) if hasattr(mse, "detach") else float(mse)
            state["epochs"].append(
                {
                    "epoch": epoch,
                    "test_loss": mse,
                    "test_frac_correct": float(frac),
                    "elapsed_s": elapsed,
                }
            )
            log(
                f"[authors' code] epoch {epoch}: test_loss {mse:.5g}, "
                f"frac correct {frac:.4f}, {elapsed:.0f} s"
            )
            if not np.isfinite(mse) or mse > 100:  # their main.py's abort
                state["status"] = "diverged"
            elif frac >= target:
                state["status"] = "reached"
            elif epoch >= max_epochs:
                state["status"] = "not_reached"
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "torch_rng": torch.get_rng_state(),
                    "numpy_rng": np.random.get_state(),
                    "state": state,
                },
                out / "last.tmp",
            )
            (out / "last.tmp").replace(out / "last.pt")
            tmp = out / "epochs.tmp"
            tmp.write_text(json.dumps(state, indent=1))
            tmp.replace(log_path)
    epochs = state["epochs"]
    hit = next((e for e in epochs if e["test_frac_correct"] >= target), None)
    return result | {
        "epochs": hit["epoch"] if hit else None,
        "seconds": hit["elapsed_s"] if hit else None,
        "epochs_run": len(epochs),
        "status": state["status"],
        "s_per_epoch": epochs[-1]["elapsed_s"] / len(epochs) if epochs else float("nan"),
        "best": max((e["test_frac_correct"] for e in epochs), default=float("nan")),
        "data_s": state.get("data_s", float("nan")),
    }

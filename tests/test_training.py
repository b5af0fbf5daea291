"""Trainer, run directory, resume, configs and the CLI (small sizes)."""

import contextlib
import json
import pathlib
import subprocess
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import yaml

import jaxrnn
from jaxrnn.cli import main
from jaxrnn.training import (
    ConfigError,
    RunInUse,
    Trainer,
    TrainingDiverged,
    config_from_dict,
    evaluate_run,
    load_config,
    load_model,
    predict,
    train,
)
from jaxrnn.tasks import make_task
from jaxrnn.training import _checkpoint, _trainer

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = {"name": "tiny", "seed": 0,
        "task": {"name": "addition", "T": 20, "n_train": 256, "n_test": 128},
        "model": {"name": "rplrnn", "hidden_size": 8},
        "train": {"batch_size": 32, "epochs": 3, "learning_rate": 3e-3, "chunk_steps": 3,
                  "eval_batch_size": 50}}


def tiny(**changes):
    raw = json.loads(json.dumps(TINY))
    for path, value in changes.items():
        node = raw
        *keys, last = path.split("__")
        for k in keys:
            node = node[k]
        node[last] = value
    return config_from_dict(raw)


@pytest.mark.parametrize("model", ["rnn", "l2rnn", "irnn", "nprnn", "plrnn", "iplrnn", "rplrnn",
                                   "lstm"])
def test_every_table1_model_learns_on_a_tiny_problem(model):
    config = tiny(model__name=model, task__n_train=512, train__epochs=1, train__batch_size=16,
                  train__learning_rate=1e-2, train__chunk_steps=32)
    trainer = Trainer(config)
    batch = trainer.epoch_batches(0)[0]
    state = trainer.init_state()
    # the static part from traced shapes (the npRNN's init needs values: built) is the
    # built model's, and the traced state template has the built state's leaves
    built = eqx.partition(trainer._member_model(config), eqx.is_inexact_array)[1]
    assert jax.tree_util.tree_structure(trainer.static) == jax.tree_util.tree_structure(built)
    assert all(a is b or a == b for a, b in zip(jax.tree_util.tree_leaves(trainer.static),
                                                jax.tree_util.tree_leaves(built)))
    assert [(x.shape, x.dtype) for x in jax.tree_util.tree_leaves(trainer.state_template())] \
        == [(x.shape, x.dtype) for x in jax.tree_util.tree_leaves(state)]
    before = float(trainer.batch_loss(state, batch)[0])
    state, _, _ = trainer.run_epoch(state)
    after = float(trainer.batch_loss(state, batch)[0])
    assert np.isfinite(after) and after < before, (model, before, after)


def test_exact_addition_plrnn_scores_one_through_the_evaluation_code():
    config = tiny(model__name="plrnn", model__hidden_size=2, task__T=200, task__n_test=1000,
                  train__dtype="float64")
    trainer = Trainer(config)
    exact = jaxrnn.PLRNN.from_arrays(
        A=jnp.array([1.0, 0.0]), W=jnp.array([[0.0, 1.0], [0.0, 0.0]]), h=jnp.array([0.0, -1.0]),
        C=jnp.array([[0.0, 0.0], [1.0, 1.0]]), B=jnp.array([[1.0, 0.0]]))
    params, _ = eqx.partition(exact, eqx.is_inexact_array)
    metrics = trainer.evaluate(jax.tree_util.tree_map(lambda x: x[None], params))[0]
    assert metrics["test_frac_correct"] == 1.0
    assert metrics["test_loss"] < 1e-20


def test_update_program_compiles_once(tmp_path):
    # 256/32 = 8 batches per epoch in chunks of 3: two full chunks and a padded one per epoch,
    # and a step budget that ends mid-epoch; still one compilation.
    config = tiny(train__max_steps=20)
    summary = train(config, tmp_path / "run", progress=False)
    assert summary["steps"] == 20 and summary["epochs_completed"] == 3


def test_run_directory_is_complete_and_evaluate_reproduces_it(tmp_path):
    run = tmp_path / "run"
    summary = train(tiny(), run, progress=False)
    for name in ["config.yaml", "metrics.jsonl", "last.eqx", "best.eqx", "summary.json",
                 "curves.png"]:
        assert (run / name).is_file(), name
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2, 3]
    assert set(lines[0]) >= {"train_loss", "test_loss", "test_frac_correct"}
    best = max(lines, key=lambda r: (r["test_frac_correct"], -r["test_loss"]))
    assert summary["best_epoch"] == best["epoch"]
    again = evaluate_run(run)
    assert again["test_frac_correct"] == summary["best_test_frac_correct"]
    np.testing.assert_allclose(again["test_loss"], summary["best_test_loss"], rtol=1e-6)
    # the saved config is the resolved one, and resolving it again changes nothing
    from jaxrnn.training._config_resolved import resolved_config_dict

    saved = load_config(run / "config.yaml")
    assert resolved_config_dict(saved) == resolved_config_dict(tiny())
    assert yaml.safe_load((run / "config.yaml").read_text()) == resolved_config_dict(tiny())
    # load_model gives back the best model: scored by hand on the task's test trials
    # (regression: correct when |error| < 0.04), it reproduces the best test score
    model = load_model(run)
    cfg = tiny()
    data = make_task(cfg.task.name, T=cfg.task.T, n_train=cfg.task.n_train,
                     n_test=cfg.task.n_test, seed=cfg.seed)
    out = jax.vmap(lambda x: predict(model, x))(jnp.asarray(data.test_x))
    correct = np.abs(np.asarray(out)[:, 0] - data.test_y[:, 0]) < 0.04
    assert float(correct.mean()) == summary["best_test_frac_correct"]
    last = load_model(run, which="last")
    assert not all(np.array_equal(a, b) for a, b in zip(jax.tree_util.tree_leaves(model),
                                                        jax.tree_util.tree_leaves(last)))


# A process that holds a run directory's lock (jaxrnn.training._run_lock, loaded by its path
# without the package, so it starts in milliseconds) until it is killed.
HOLDER = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("run_lock", sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
with mod.run_lock(sys.argv[2]):
    print("held", flush=True)
    time.sleep(300)
"""


@contextlib.contextmanager
def lock_held_by_another_process(run_dir):
    """Yields the pid of a live process holding ``run_dir``'s lock; kills it (-9) after."""
    path = ROOT / "jaxrnn" / "training" / "_run_lock.py"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(run_dir)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc.pid
    finally:
        proc.kill()  # SIGKILL: the operating system drops the lock
        proc.communicate(timeout=30)  # reaps it and closes the pipe


def test_resume_reproduces_the_uninterrupted_parameters(tmp_path, capsys):
    full = tmp_path / "full"
    train(tiny(), full, progress=False)
    part = tmp_path / "part"
    asked = []  # 8 steps per epoch in chunks of 3, 3, 2: the 4th chunk is epoch 2's first

    def stop():
        asked.append(1)
        return len(asked) == 4

    with pytest.raises(KeyboardInterrupt):  # as a signal would, from the training loop
        train(tiny(), part, progress=False, stop=stop)
    first = json.loads((part / "summary.json").read_text())
    assert first["status"] == "interrupted" and first["epochs_completed"] == 1
    # the traced template (what resuming loads into) loads what a built one loads
    built = _checkpoint.load_tree(part / "last.eqx", Trainer(tiny()).init_state())
    traced = _checkpoint.load_tree(part / "last.eqx", Trainer(tiny()).state_template())
    assert jax.tree_util.tree_structure(built) == jax.tree_util.tree_structure(traced)
    for x, y in zip(jax_leaves(built), jax_leaves(traced)):
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes()
    assert len(asked) == 4 and len((part / "metrics.jsonl").read_text().splitlines()) == 1
    # a kill -9 mid-epoch 2 leaves an extra metrics line behind; resuming must drop it
    with open(part / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"epoch": 2, "test_loss": 0.0, "test_frac_correct": 0.0}) + "\n")

    def files():
        return {f.name: f.read_bytes() for f in part.iterdir() if f.name != ".lock"}

    before = files()
    with lock_held_by_another_process(part) as pid:  # a second process is refused, untouched
        with pytest.raises(RunInUse, match=f"{part} is in use by another process \\(pid {pid}\\)"):
            train(None, part, resume=True, progress=False)
        capsys.readouterr()
        assert main(["train", "--resume", str(part), "--no-progress"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"(pid {pid})" in err[0], err
        assert files() == before
    resumed = train(None, part, resume=True, progress=False)  # killed holder: lock released
    assert resumed["epochs_completed"] == 3
    config = tiny()
    template = Trainer(config).init_state()
    a = _checkpoint.load_tree(full / "last.eqx", template)
    b = _checkpoint.load_tree(part / "last.eqx", template)
    assert a.params.mu0 is not None  # the rPLRNN learns its initial state mu0
    assert not np.allclose(a.params.mu0, template.params.mu0)
    for x, y in zip(jax_leaves(a), jax_leaves(b)):
        np.testing.assert_array_equal(x, y)
    assert (full / "metrics.jsonl").read_text().count("\n") == 3
    assert [json.loads(x)["epoch"] for x in (part / "metrics.jsonl").read_text().splitlines()] \
        == [1, 2, 3]


def jax_leaves(tree):
    import jax

    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    run = tmp_path / "run"
    train(tiny(), run, progress=False, stop_after_epochs=1)
    good = (run / "last.eqx").read_bytes()
    original = _trainer.make_optimizer
    monkeypatch.setattr(_trainer, "make_optimizer",  # same optimiser, absurd step size
                        lambda tr, total: optax.chain(original(tr, total), optax.scale(1e30)))
    with pytest.raises(TrainingDiverged, match="diverged at epoch 2, step 10: non-finite"):
        train(None, run, resume=True, progress=False)
    assert (run / "last.eqx").read_bytes() == good
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["diverged_at"]["epoch"] == 2
    assert summary["epochs_completed"] == 1


def _set_in_run_config(run, **train_changes):
    import yaml

    raw = yaml.safe_load((run / "config.yaml").read_text())
    raw["train"].update(train_changes)
    (run / "config.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


def test_a_loss_above_abort_loss_for_abort_patience_steps_exits_3_in_that_epoch(tmp_path,
                                                                                  capsys):
    """A finite blow-up: every step of epoch 2 is above the threshold, so the run stops
    at its 4th step (8 steps per epoch + 4), with exit code 3 and one line; the
    checkpoints of epoch 1 stay and load."""
    run = tmp_path / "run"
    train(tiny(), run, progress=False, stop_after_epochs=1)
    good, best = (run / "last.eqx").read_bytes(), (run / "best.eqx").read_bytes()
    _set_in_run_config(run, abort_loss=1e-12, abort_patience=4)
    assert main(["train", "--resume", str(run), "--no-progress"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "diverged at epoch 2, step 12: training loss" in err[0]
    assert "above train.abort_loss=1e-12 for 4 consecutive steps" in err[0]
    assert str(run / "last.eqx") in err[0]
    assert (run / "last.eqx").read_bytes() == good and (run / "best.eqx").read_bytes() == best
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged"
    assert summary["diverged_at"]["reason"] == "abort_loss"
    assert summary["diverged_at"]["loss"] > 1e-12
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["diverged"] is True and lines[-1]["epoch"] == 2
    metrics = evaluate_run(run)  # the last good epoch's model still loads and evaluates
    assert metrics["test_frac_correct"] == summary["best_test_frac_correct"]
    _set_in_run_config(run, abort_loss=None)  # null: only non-finite losses stop it
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


def test_short_loss_spikes_do_not_stop_a_run(tmp_path, monkeypatch):
    """Spikes shorter than abort_patience pass (the paper-text protocol's spikes last 1-3
    steps); a run of abort_patience steps above the threshold stops it."""
    trainer = Trainer(tiny(train__abort_loss=100.0, train__abort_patience=3))
    step = trainer.programs._member_step
    alive, above = jnp.asarray(True), jnp.asarray(0, jnp.int32)
    original_loss = trainer.programs._member_loss
    ids = jnp.asarray(trainer.epoch_batches(0)[0])
    state = trainer.init_state()
    one = jax.tree_util.tree_map(lambda x: x[0], (state.params, state.opt_state, state.hyper))
    steps = {}  # one compiled step per loss, traced while that loss is patched in
    for spike, expect_alive in [(False, True), (True, True), (True, True), (False, True),
                                (True, True), (True, True), (True, False)]:
        def member_loss(params, data, ids, hyper, spike=spike):
            loss, task = original_loss(params, data, ids, hyper)
            return loss + (1e6 if spike else 0.0), task
        monkeypatch.setattr(trainer.programs, "_member_loss", member_loss)
        if spike not in steps:  # a function of its own: jit's cache is per function
            steps[spike] = jax.jit(lambda *a: step(*a))
        run = steps[spike]
        _, _, alive, above, loss = run(*one, alive, above, trainer.objective.train_data,
                                       ids[0], jnp.asarray(True))
        assert bool(alive) == expect_alive, (spike, int(above))


def test_stop_at_ends_the_run_early_and_resume_keeps_it_ended(tmp_path):
    run = tmp_path / "run"
    summary = train(tiny(train__stop_at=0.01, train__epochs=5), run, progress=False)
    assert summary["status"] == "stopped_early" and summary["epochs_completed"] == 1
    assert "train.stop_at=0.01 reached at epoch 1" in summary["stop_reason"]
    again = train(None, run, resume=True, progress=False)
    assert again["status"] == "stopped_early" and again["epochs_completed"] == 1


def test_patience_counts_epochs_without_a_better_test_loss():
    from jaxrnn.training._benchmark_objective import BenchmarkObjective
    from jaxrnn.training._run_ledger import _early_stop

    cfg = tiny(train__patience=2)
    rec = lambda e, loss: {"epoch": e, "test_loss": loss, "test_frac_correct": 0.0}  # noqa
    losses = [0.5, 0.4, 0.45, 0.41, 0.3, 0.35]
    stops = [_early_stop(cfg, BenchmarkObjective, [rec(i + 1, x) for i, x in
                                                   enumerate(losses[:n])]) is not None
             for n in range(1, len(losses) + 1)]
    assert stops == [False, False, False, True, False, False]


def test_wall_time_adds_up_over_resumed_segments(tmp_path):
    run = tmp_path / "run"
    first = train(tiny(), run, progress=False, stop_after_epochs=1)
    second = train(None, run, resume=True, progress=False, stop_after_epochs=1)
    third = train(None, run, resume=True, progress=False)
    assert [g["epochs"] for g in third["segments"]] == [1, 1, 1]
    assert third["wall_time_s"] == pytest.approx(
        first["wall_time_s"] + second["segments"][-1]["wall_time_s"]
        + third["segments"][-1]["wall_time_s"], abs=2e-3)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert lines[2]["elapsed_s"] >= first["wall_time_s"] + second["segments"][-1]["wall_time_s"] \
        - 0.01


@pytest.mark.parametrize("override, key", [
    ("task.T=10", "task.T"),
    ("train.learning_rate=-0.1", "train.learning_rate"),
    ("model.n_regularised=50", "model.n_regularised"),
    ("model.reg_fraction=1.5", "model.reg_fraction"),
    ("model.name=transformer", "model.name"),
    ("train.batch_size=abc", "train.batch_size"),
    ("train.typo=1", "train.typo"),
])
def test_config_errors_exit_2_naming_the_key(tmp_path, capsys, override, key):
    out = tmp_path / "run"
    code = main(["train", str(ROOT / "configs" / "quickstart.yaml"), "--set", override,
                 "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert f"'{key}'" in err and len(err.splitlines()) == 1
    assert not out.exists()  # nothing written


def test_cli_file_errors_exit_2(tmp_path, capsys):
    assert main(["train", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: not found" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: [unclosed")
    assert main(["train", str(bad)]) == 2
    assert "invalid YAML" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    mnist = tmp_path / "m.yaml"
    mnist.write_text("task: {name: mnist, n_train: 100, n_test: 10, data_dir: /nonexistent}\n")
    assert main(["train", str(mnist), "--out", str(tmp_path / "r")]) == 2
    assert "/nonexistent: MNIST data directory not found" in capsys.readouterr().err


def test_cli_train_resume_and_evaluate(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(TINY))  # JSON is YAML
    out = tmp_path / "run"
    assert main(["train", str(cfg), "--set", "train.epochs=2", "--out", str(out),
                 "--no-progress"]) == 0
    assert main(["train", str(cfg), "--out", str(out), "--no-progress"]) == 2  # refuses overwrite
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    summary = json.loads((out / "summary.json").read_text())
    assert metrics["test_frac_correct"] == summary["best_test_frac_correct"]


def test_every_shipped_config_is_valid():
    configs = sorted((ROOT / "configs").glob("*.yaml"))
    assert len(configs) >= 25
    for path in configs:
        config = load_config(path)
        assert config.name == path.stem
    fast = sorted((ROOT / "configs" / "fast").glob("*.yaml"))  # the fast protocols
    assert fast
    for path in fast:  # the default run directory differs from the Fig. 2 config's
        config = load_config(path)
        assert config.name == path.stem + "_fast" and config.train.stop_at == 0.99


def test_config_error_type():
    with pytest.raises(ConfigError, match="unknown config key 'model.hiden_size'"):
        config_from_dict({"model": {"hiden_size": 3}})


def test_cli_analyse_a_plrnn_run(tmp_path, capsys):
    run = tmp_path / "run"
    train(tiny(model__hidden_size=6, train__epochs=1), run, progress=False)
    assert main(["analyse", str(run), "--max-order", "2"]) == 0
    summary = json.loads((run / "analysis.json").read_text())
    assert (run / "analysis.png").is_file()
    assert summary["latent_size"] == 6 and set(summary["cycles"]) == {"1", "2"}
    assert len(summary["lyapunov_spectrum"]) == 6
    capsys.readouterr()
    lstm = tmp_path / "lstm"
    train(tiny(model__name="lstm", train__epochs=1), lstm, progress=False)
    assert main(["analyse", str(lstm)]) == 2
    assert "needs a PLRNN run" in capsys.readouterr().err


def test_init_from_starts_a_run_at_another_runs_best_checkpoint(tmp_path):
    """A curriculum step: a T = 30 run starts from a T = 20 run's best parameters (the
    same model), records the source in config.yaml, and refuses a checkpoint of another
    model with one line naming the key."""
    first = tmp_path / "t20"
    train(tiny(train__epochs=2), first, progress=False)
    source = load_model(first)
    config = tiny(task__T=30, train__epochs=1, model__init_from=str(first), seed=5)
    trainer = Trainer(config)
    start = trainer.model(trainer.start_state())
    for a, b in zip(jax.tree_util.tree_leaves(eqx.filter(start, eqx.is_inexact_array)),
                    jax.tree_util.tree_leaves(eqx.filter(source, eqx.is_inexact_array))):
        np.testing.assert_array_equal(a, b)
    fresh = trainer.model(trainer.init_state())  # the seed's initialisation differs
    assert not np.array_equal(np.asarray(fresh.W), np.asarray(source.W))
    second = tmp_path / "t30"
    train(config, second, progress=False)
    saved = yaml.safe_load((second / "config.yaml").read_text())
    assert saved["model"]["init_from"] == str(first)
    assert "init_from" not in yaml.safe_load((first / "config.yaml").read_text())["model"]
    wider = tiny(model__hidden_size=TINY["model"]["hidden_size"] + 1,
                 model__init_from=str(first))
    with pytest.raises(ConfigError, match=r"^config key 'model.init_from': checkpoint .*best"):
        train(wider, tmp_path / "wider", progress=False)
    with pytest.raises(ConfigError, match="'model.init_from': starts BPTT training only"):
        load_config(ROOT / "configs" / "reconstruction_bursting_neuron_em.yaml",
                    [f"model.init_from={first}"])

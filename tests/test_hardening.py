"""Bad input gets a clear refusal; nothing written so far is lost."""

import json
import os
import pathlib
import stat

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml

import jaxrnn
from jaxrnn.cli import main
from jaxrnn.training import ConfigError, Trainer, config_from_dict, load_config, train
from jaxrnn.training._checkpoint import CheckpointError, load_tree

TINY = {"name": "tiny", "seed": 0,
        "task": {"name": "addition", "T": 20, "n_train": 128, "n_test": 64},
        "model": {"name": "rplrnn", "hidden_size": 6},
        "train": {"batch_size": 32, "epochs": 3, "learning_rate": 3e-3, "chunk_steps": 4,
                  "eval_batch_size": 32}}


def _one_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_truncated_last_checkpoint_is_one_line_naming_it_and_the_way_back(tmp_path, capsys):
    full, run = tmp_path / "full", tmp_path / "run"
    train(config_from_dict(TINY), full, progress=False)
    train(config_from_dict(TINY), run, progress=False, stop_after_epochs=2)
    last = run / "last.eqx"
    assert (run / "last.prev.eqx").is_file()
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])  # a disk filled up
    assert main(["train", "--resume", str(run), "--no-progress"]) == 2
    line = _one_line(capsys)
    assert f"checkpoint {last}: truncated or corrupt" in line
    assert "last.prev.eqx is intact (epoch 1)" in line and "mv " in line
    assert "best.eqx" in line
    os.replace(run / "last.prev.eqx", last)  # what the message says to do
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    template = Trainer(config_from_dict(TINY)).init_state()
    a, b = load_tree(full / "last.eqx", template), load_tree(last, template)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    small = Trainer(config_from_dict(TINY)).member_params()
    other = Trainer(config_from_dict({**TINY, "model": {"name": "rplrnn", "hidden_size": 4}}))
    from jaxrnn.training._checkpoint import save_tree

    save_tree(tmp_path / "x.eqx", small)
    with pytest.raises(CheckpointError, match="x.eqx"):
        load_tree(tmp_path / "x.eqx", other.member_params())
    with pytest.raises(CheckpointError, match="longer than this run's state"):
        load_tree(tmp_path / "x.eqx", {"A": small.A})
    with pytest.raises(CheckpointError, match="not found"):
        load_tree(tmp_path / "y.eqx", small)


def test_a_bad_sweep_creates_nothing(tmp_path, capsys):
    sweep = {"name": "s", "kind": "system",
             "base": {"model": "ctrnn", "hidden_size": 4, "seed": 0},
             "measure": {"name": "euler_error", "n_steps": 20},
             "axes": {"tau": [1.0, 2.0], "stiffness": [1, 2]}}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(sweep))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--no-progress"]) == 2
    assert "'axes.stiffness'" in _one_line(capsys)
    assert not out.exists()
    # a training sweep whose grid point is an impossible config: refused before anything
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(TINY))
    train_sweep = {"name": "t", "kind": "training", "base": str(base),
                   "axes": {"train.learning_rate": [1e-3, -1.0]}}
    path.write_text(yaml.safe_dump(train_sweep))
    assert main(["sweep", str(path), "--out", str(out), "--no-progress"]) == 2
    assert "'train.learning_rate'" in _one_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize("name", ["tau_A", "tau_W", "tau_h"])
def test_negative_penalty_strengths_are_refused(name):
    model = jaxrnn.PLRNN(4, 1, n_regularised=2, key=jax.random.PRNGKey(0))
    model = eqx.tree_at(lambda m: (m.A, m.W_raw, m.h), model,
                        (model.A + 0.1, model.W_raw + 0.1, model.h + 0.1))
    taus = {"tau_A": 1.0, "tau_W": 1.0, "tau_h": 1.0, name: -1.0}
    with pytest.raises(ValueError, match=name):
        jaxrnn.line_attractor_penalty(model, **taus)
    with pytest.raises(ValueError, match=name):
        jaxrnn.line_attractor_penalty(model, **{**taus, name: float("nan")})
    jitted = jax.jit(lambda t: jaxrnn.line_attractor_penalty(model, **{**taus, name: t}))
    assert float(jitted(2.0)) > float(jitted(1.0)) > 0
    with pytest.raises(Exception, match=f"{name} must be finite and >= 0"):
        jax.block_until_ready(jitted(-1.0))


@pytest.mark.parametrize("kwargs", [dict(dt=-0.1, n_steps=100), dict(dt=0.0, n_steps=100),
                                    dict(dt=float("nan"), n_steps=10), dict(t1=-1.0, dt=0.1),
                                    dict(t1=-1.0, n_steps=10)])
def test_simulate_refuses_non_positive_steps(kwargs):
    ctrnn = jaxrnn.CTRNN(3, key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="dt|t1"):
        jaxrnn.simulate(ctrnn, jnp.zeros(3), **kwargs)


def test_yaml_syntax_error_names_file_line_and_column(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ntask:\n  name: addition\n  T: [100\nmodel: {}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml, line \d+, column \d+: invalid YAML"):
        load_config(path)
    assert main(["train", str(path), "--out", str(tmp_path / "r")]) == 2
    line = _one_line(capsys)
    assert str(path) in line and "line " in line and "column " in line
    assert not (tmp_path / "r").exists()


def test_run_directory_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        train(config_from_dict({**TINY, "train": {**TINY["train"], "epochs": 1}}),
              tmp_path / "run", progress=False)
    finally:
        os.umask(old)
    for f in (tmp_path / "run").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f.name


def test_summary_json_is_strict_json_after_a_non_finite_loss(tmp_path):
    raw = {**TINY, "train": {**TINY["train"], "learning_rate": 1e30}}
    with pytest.raises(Exception):
        train(config_from_dict(raw), tmp_path / "run", progress=False)
    text = (tmp_path / "run" / "summary.json").read_text()
    summary = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert summary["status"] == "diverged"


def test_exhaustive_search_refuses_up_front_beyond_its_limit():
    import time

    from jaxrnn.analysis import cycles, fixed_points
    from jaxrnn.analysis._plrnn_cycles import MAX_SEQUENCES, exhaustive_feasible

    assert exhaustive_feasible(22, 1) and not exhaustive_feasible(23, 1)
    assert exhaustive_feasible(10, 2) and not exhaustive_feasible(11, 2)
    assert not exhaustive_feasible(64, 12)
    for M, order in [(64, 1), (40, 1), (23, 1), (11, 2), (8, 3)]:
        plrnn = jaxrnn.PLRNN(M, key=jax.random.PRNGKey(0))
        t0 = time.perf_counter()
        with pytest.raises(ValueError, match=f"max_sequences = {MAX_SEQUENCES:,}.*scyfi"):
            cycles(plrnn, order)
        assert time.perf_counter() - t0 < 1.0
    small = jaxrnn.PLRNN(6, key=jax.random.PRNGKey(0))
    assert len(fixed_points(small, max_sequences=64)) >= 0  # 2^6 = 64: at the limit, runs
    with pytest.raises(ValueError, match="max_sequences = 63"):
        fixed_points(small, max_sequences=63)


def test_analyse_switches_to_scyfi_beyond_the_limit_and_says_so(tmp_path):
    raw = {**TINY, "model": {"name": "rplrnn", "hidden_size": 24},
           "train": {**TINY["train"], "epochs": 1}}
    train(config_from_dict(raw), tmp_path / "run", progress=False)
    from jaxrnn.analysis._run_report import analyse_run

    import matplotlib.figure

    figures = []
    original = matplotlib.figure.Figure.savefig

    def keep(fig, *args, **kwargs):
        figures.append(fig)
        return original(fig, *args, **kwargs)

    matplotlib.figure.Figure.savefig = keep
    try:
        summary = analyse_run(tmp_path / "run", max_order=1)
    finally:
        matplotlib.figure.Figure.savefig = original
    method = summary["cycles"]["1"]["method"]
    assert method.startswith("scyfi") and "2^24" in method
    (fig,) = figures
    for ax in fig.axes:  # every panel labelled
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title(), ax

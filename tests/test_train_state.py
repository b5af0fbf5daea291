"""`TrainState` (one state with a member axis, one checkpoint layout) and `vmap_members`
(a population of one is the single-model program, bit for bit)."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrnn._members import vmap_members
from jaxrnn.cli import main
from jaxrnn.training import TrainState, Trainer, config_from_dict, train, train_population
from jaxrnn.training._checkpoint import CheckpointError, load_tree, save_tree

TINY = {"name": "tiny", "seed": 0,
        "task": {"name": "addition", "T": 20, "n_train": 128, "n_test": 64},
        "model": {"name": "rplrnn", "hidden_size": 6},
        "train": {"batch_size": 32, "epochs": 2, "learning_rate": 3e-3, "chunk_steps": 4,
                  "eval_batch_size": 32}}


def _f(w, x, c):
    return jnp.tanh(x @ w) * c, jnp.sum(w * w)


@settings(max_examples=15, deadline=None)
@given(P=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_vmap_members_is_vmap_and_the_plain_function_for_one(P, seed):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    w = jax.random.normal(k1, (P, 3, 3), jnp.float32)
    x = jax.random.normal(k2, (P, 5, 3), jnp.float32)
    ours = jax.jit(vmap_members(_f, (0, 0, None)))(w, x, 2.0)
    ref = jax.jit(jax.vmap(_f, (0, 0, None)))(w, x, 2.0)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6)
    if P == 1:  # exactly the unbatched function's result
        one = jax.jit(_f)(w[0], x[0], 2.0)
        for a, b in zip(ours, one):
            np.testing.assert_array_equal(a[0], b)


def test_a_population_of_one_is_a_single_run_bit_for_bit(tmp_path):
    config = config_from_dict(TINY)
    train(config, tmp_path / "one", progress=False)
    train_population(config, [{}], tmp_path / "pop", progress=False)
    member = tmp_path / "pop" / "members" / "tiny-000"
    assert (member / "best.eqx").read_bytes() == (tmp_path / "one" / "best.eqx").read_bytes()
    assert ((tmp_path / "pop" / "last.eqx").read_bytes()
            == (tmp_path / "one" / "last.eqx").read_bytes())  # one checkpoint layout


def test_the_state_has_a_member_axis_and_round_trips(tmp_path):
    trainer = Trainer(config_from_dict(TINY))
    state = trainer.init_state()
    assert state.size == 1 and state.alive.shape == (1,) and state.hyper.alpha.shape == (1,)
    assert all(x.shape[0] == 1 for x in jax.tree_util.tree_leaves(state.params))
    state, losses, died = trainer.run_epoch(state)
    assert losses.shape == (trainer.batches_per_epoch, 1) and losses.dtype == np.float64
    assert died == {} and int(state.epoch) == 1 and int(state.step) == trainer.batches_per_epoch
    save_tree(tmp_path / "s.eqx", state)
    back = load_tree(tmp_path / "s.eqx", trainer.init_state())
    assert isinstance(back, TrainState)
    for a, b in zip(jax.tree_util.tree_leaves(state), jax.tree_util.tree_leaves(back)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_best_keeps_the_higher_score_then_the_lower_loss():
    state = Trainer(config_from_dict(TINY)).init_state().replace(epoch=3)
    assert state.improved(0, -1e300, 1e300)  # anything beats "no epoch yet"
    state = state.with_best(0, 0.5, 0.2)
    assert int(state.best_epoch[0]) == 3
    assert not state.improved(0, 0.4, 0.0) and not state.improved(0, 0.5, 0.3)
    assert state.improved(0, 0.5, 0.1) and state.improved(0, 0.6, 9.0)


def _old_single_run_checkpoint(trainer: Trainer) -> dict:
    """``last.eqx`` as single runs wrote it before `TrainState` (no member axis)."""
    s = trainer.init_state()
    first = lambda t: jax.tree_util.tree_map(lambda x: x[0], t)  # noqa: E731
    return {"params": first(s.params), "opt_state": first(s.opt_state),
            "alpha": s.hyper.alpha[0], "above": jnp.asarray(0, jnp.int32),
            "stopped": jnp.asarray(False), "epoch": jnp.asarray(1, jnp.int32),
            "step": jnp.asarray(4, jnp.int32), "best_score": np.asarray(0.0),
            "best_loss": np.asarray(1.0), "best_epoch": jnp.asarray(1, jnp.int32)}


def test_a_checkpoint_of_the_earlier_layout_is_refused_in_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    train(config_from_dict(TINY), run, progress=False, stop_after_epochs=1)
    best = (run / "best.eqx").read_bytes()
    save_tree(run / "last.eqx", _old_single_run_checkpoint(Trainer(config_from_dict(TINY))))
    assert main(["train", "--resume", str(run), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"checkpoint {run / 'last.eqx'}" in err[0], err
    assert "checkpoint layout" in err[0] and "best.eqx" in err[0]
    assert (run / "best.eqx").read_bytes() == best  # nothing written so far is lost
    assert main(["evaluate", str(run)]) == 0


def test_a_checkpoint_of_another_population_size_is_refused(tmp_path):
    config = config_from_dict(TINY)
    two = Trainer(config, members=[config, config])
    save_tree(tmp_path / "x.eqx", two.init_state())
    with pytest.raises(CheckpointError, match="x.eqx: .*population size"):
        load_tree(tmp_path / "x.eqx", Trainer(config).init_state())


def test_no_population_size_branch_in_the_training_layer():
    root = pathlib.Path(__file__).resolve().parents[1] / "jaxrnn" / "training"
    for path in root.glob("*.py"):
        text = path.read_text()
        for pattern in ("P == 1", "P > 1", "self.P == ", "len(params) == 1"):
            assert pattern not in text, (path.name, pattern)


def test_leaves_of_other_shapes_or_dtypes_are_refused(tmp_path):
    save_tree(tmp_path / "x.eqx", {"a": jnp.zeros(3, jnp.float32), "b": np.zeros(2)})
    for template in ({"a": jnp.zeros(4, jnp.float32), "b": np.zeros(2)},
                     {"a": jnp.zeros(3, jnp.float32), "b": np.zeros(5)},
                     {"a": jnp.zeros(3, jnp.int32), "b": np.zeros(2)},
                     {"a": jnp.zeros(3, jnp.float32), "b": np.zeros(2, np.int32)}):
        with pytest.raises(CheckpointError, match="x.eqx: truncated or corrupt.*layout"):
            load_tree(tmp_path / "x.eqx", template)


@pytest.mark.parametrize("task,model", [
    *[("addition", m) for m in ("rnn", "l2rnn", "irnn", "nprnn", "plrnn", "iplrnn", "rplrnn",
                                "lstm")],
    ("reconstruction", "rplrnn"), ("reconstruction", "iplrnn")])
def test_the_saved_config_holds_what_applies_and_rebuilds_the_same_run(task, model):
    from jaxrnn.training import config_from_dict
    from jaxrnn.training._config_resolved import resolved_config_dict

    raw = {"name": "r", "seed": 3,
           "task": {"name": task, "T": 20, "n_train": 64, "n_test": 32},
           "model": {"name": model, "hidden_size": 8},
           "train": {"batch_size": 16, "epochs": 1}}
    if task == "reconstruction":
        raw["task"].update(dataset="van_der_pol", n_samples=200, eval_steps=50)
    config = config_from_dict(raw)
    saved = resolved_config_dict(config)
    assert "em" not in saved and ("forcing" in saved) == (task == "reconstruction")
    assert ("dataset" in saved["task"]) == (task == "reconstruction")
    assert None not in (saved["model"].get("init", 0), saved["model"].get("learn_z0", 0))
    assert ("tau" in saved["model"]) == (model == "rplrnn")
    assert ("lstm_units" in saved["model"]) == (model == "lstm")
    assert ("rollout" in saved["model"]) == (model in ("plrnn", "iplrnn", "rplrnn"))
    again = config_from_dict(saved)
    a, b = Trainer(config), Trainer(again)
    for x, y in zip(jax.tree_util.tree_leaves(a.init_state()),
                    jax.tree_util.tree_leaves(b.init_state())):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    for x, y in zip(jax.tree_util.tree_leaves(a.objective.train_data),
                    jax.tree_util.tree_leaves(b.objective.train_data)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    import equinox as eqx

    assert eqx.tree_equal(a.static, b.static)  # the same model structure (M_reg, links, ...)

"""The float32 path as the CLI runs it: jax_enable_x64 off (run by tests/test_float32.py in a
fresh process; the rest of the suite runs in float64)."""

import json

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from jaxrnn.models.plrnn._rollout import _forward, plrnn_rollout
from jaxrnn.training import Trainer, config_from_dict, evaluate_run, train
from jaxrnn.training._checkpoint import load_tree

TINY = {"name": "f32", "seed": 0,
        "task": {"name": "addition", "T": 30, "n_train": 256, "n_test": 128},
        "model": {"name": "rplrnn", "hidden_size": 8, "learn_z0": True},
        "train": {"batch_size": 32, "epochs": 3, "learning_rate": 3e-3, "chunk_steps": 3,
                  "eval_batch_size": 64}}


def test_x64_is_off():
    assert not jax.config.jax_enable_x64
    assert jnp.zeros(()).dtype == jnp.float32


def test_exhaustive_fixed_point_search_refuses_without_x64_beyond_its_limit():
    """An M = 40 PLRNN's 2^40 regions: refused up front, pointing to SCYFI (as with x64
    on; tests/test_hardening.py checks the refusal there)."""
    from jaxrnn.analysis import fixed_points

    try:
        fixed_points(jaxrnn.PLRNN(40, key=jax.random.PRNGKey(0)))
    except ValueError as e:
        assert "exceeds the limit" in str(e) and "scyfi" in str(e)
    else:
        raise AssertionError("fixed_points searched 2^40 regions")


def test_initial_loss_matches_a_float64_numpy_reference():
    trainer = Trainer(config_from_dict(TINY))
    model = trainer.model()
    ids = trainer.epoch_batches(0)[0, 0]
    x, y = (np.asarray(a, np.float64)[ids] for a in trainer.objective.train_data)
    A, W, C, h, mu0 = (np.asarray(v, np.float64) for v in
                       (model.A, model.W, model.C, model.h, model.mu0))
    B = np.asarray(model.observation.B, np.float64)
    z = np.broadcast_to(mu0, (len(ids), 8)).copy()
    for t in range(x.shape[1]):
        z = A * z + np.maximum(z, 0) @ W.T + x[:, t] @ C.T + h
    task = np.mean(np.sum((z @ B.T - y) ** 2, axis=1))
    penalty = float(jaxrnn.line_attractor_penalty(model, 5.0, 5.0, reduction="mean"))
    np.testing.assert_allclose(float(trainer.batch_loss(trainer.init_state(), ids[None])[0]), task + penalty, rtol=1e-5)


def test_rollout_gradients_equal_autodiff_in_float32():  # sequential and parallel rollouts
    ks = jax.random.split(jax.random.PRNGKey(0), 6)
    M, K, B, T = 6, 2, 4, 50
    args = (jax.random.uniform(ks[0], (M,), minval=0.3, maxval=1.0),
            jax.random.normal(ks[1], (M, M)) * 0.3 * (1 - jnp.eye(M)),
            jax.random.normal(ks[2], (M,)) * 0.3, jax.random.normal(ks[3], (M, K)),
            jax.random.normal(ks[4], (B, M)), jax.random.normal(ks[5], (T, B, K)))
    loss = lambda f: lambda *a: jnp.sum(jnp.sin(f(*a)))  # noqa: E731
    ref = jax.grad(loss(lambda *a: _forward(*a)[-1]), argnums=range(6))(*args)
    for method, rtol in (("sequential", 1e-5), ("parallel", 1e-4)):  # parallel: other order
        ours = jax.grad(loss(lambda *a: plrnn_rollout(*a, method=method)), argnums=range(6))(*args)
        for a, b in zip(ours, ref):
            assert a.dtype == jnp.float32
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * float(jnp.max(jnp.abs(b))))


def test_training_resume_and_checkpoints_in_float32(tmp_path):
    config = config_from_dict(TINY)
    full = train(config, tmp_path / "full", progress=False)
    train(config, tmp_path / "part", progress=False, stop_after_epochs=1)
    part = train(None, tmp_path / "part", resume=True, progress=False)
    assert full["status"] == part["status"] == "completed"
    template = Trainer(config).init_state()
    a = load_tree(tmp_path / "full" / "last.eqx", template)
    b = load_tree(tmp_path / "part" / "last.eqx", template)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))  # the same program twice
    assert a.params.A.dtype == jnp.float32
    lines = [json.loads(x) for x in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["train_loss"] < lines[0]["train_loss"]
    again = evaluate_run(tmp_path / "full")
    assert again["test_frac_correct"] == full["best_test_frac_correct"]

"""Reconstruction training: teacher forcing is what it says, and training reconstructs."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.cli import main
from jaxrnn.training import (
    ConfigError,
    Trainer,
    config_from_dict,
    free_run,
    teacher_forced_loss,
    train,
    train_population,
)


def _plrnn(M=5, N=3, seed=0, identity_B=False):
    model = jaxrnn.PLRNN(M, 0, observation_size=N, key=jax.random.PRNGKey(seed))
    if identity_B:
        model = eqx.tree_at(lambda m: m.observation.B, model, jnp.eye(N, M))
    return model


def _data(T=12, N=3, seed=1):
    return jax.random.normal(jax.random.PRNGKey(seed), (T, N))


def test_full_forcing_every_step_is_one_step_ahead_error_with_identity_observation(x64):
    model, x = _plrnn(identity_B=True), _data()
    got = teacher_forced_loss(model, x, 1.0, 1)
    # by hand: the observed units are set to the data, the hidden ones keep their values
    z = np.concatenate([np.asarray(x[0]), np.zeros(2)])
    errs = []
    for t in range(1, x.shape[0]):
        z = np.array(model.step(jnp.asarray(z), jnp.zeros(0)))
        errs.append(np.sum((np.asarray(x[t]) - z[:3]) ** 2))
        z[:3] = np.asarray(x[t])
    np.testing.assert_allclose(got, np.sum(errs) / (11 * 3), rtol=1e-12)


def test_no_forcing_is_the_free_run_error(x64):
    model, x = _plrnn(seed=3), _data()
    gen = free_run(model, x[0], x.shape[0])
    expected = jnp.sum((gen[1:] - x[1:]) ** 2) / ((x.shape[0] - 1) * 3)
    np.testing.assert_allclose(teacher_forced_loss(model, x, 0.0, 1), expected, rtol=1e-12)
    # and the free run is the model's own trajectory from B⁺ x_0
    z0 = jnp.linalg.pinv(model.observation.B) @ x[0]
    traj = jaxrnn.simulate(model, z0, x.shape[0] - 1, divergence_threshold=None).ys
    np.testing.assert_allclose(gen, traj @ model.observation.B.T, rtol=1e-12)


@pytest.mark.parametrize("alpha, interval", [(1.0, 4), (0.3, 1), (0.6, 3)])
def test_generalised_forcing_interpolates_and_has_exact_gradients(x64, alpha, interval):
    model, x = _plrnn(seed=2), _data(T=15)
    loss = teacher_forced_loss(model, x, alpha, interval)
    assert np.isfinite(loss)
    # d loss / d A against central finite differences
    f = lambda A: teacher_forced_loss(  # noqa: E731
        eqx.tree_at(lambda m: m.A, model, A), x, alpha, interval)
    g = jax.grad(f)(model.A)
    eps = 1e-6
    for i in range(model.A.shape[0]):
        e = jnp.zeros_like(model.A).at[i].set(eps)
        fd = (f(model.A + e) - f(model.A - e)) / (2 * eps)
        np.testing.assert_allclose(g[i], fd, rtol=1e-5, atol=1e-9)


def _forced_by_hand(model, x, alpha, interval):
    """Generalised teacher forcing written out in NumPy: z_0 = B⁺x_0; for t = 1..T−1,
    z = F(z_{t−1}), record x_t − B z, and at t ≡ 0 (mod interval) replace z by
    (1 − α) z + α ẑ with ẑ = z + B⁺(x_t − B z). Returns the residuals and the states."""
    A, W, h = (np.asarray(v, float) for v in (model.A, model.W, model.h))
    B = np.asarray(model.observation.B, float)
    pinv = np.linalg.pinv(B)
    x = np.asarray(x, float)
    z = pinv @ x[0]
    residuals, states = [], [z]
    for t in range(1, len(x)):
        z = A * z + W @ np.maximum(z, 0) + h
        r = x[t] - B @ z
        residuals.append(r)
        if t % interval == 0:
            z_hat = z + pinv @ r
            z = (1 - alpha) * z + alpha * z_hat
        states.append(z)
    return np.array(residuals), np.array(states)


@pytest.mark.parametrize("alpha, interval", [(0.3, 1), (0.7, 2), (1.0, 3), (0.0, 1)])
def test_generalised_forcing_equals_the_numpy_reference(x64, alpha, interval):
    model, x = _plrnn(M=6, N=3, seed=2), _data(T=15)
    residuals, _ = _forced_by_hand(model, x, alpha, interval)
    np.testing.assert_allclose(teacher_forced_loss(model, x, alpha, interval),
                               np.mean(residuals ** 2), rtol=1e-12)


def test_forcing_with_alpha_one_puts_the_state_on_the_data(x64):
    """With α = 1 the forced state ẑ satisfies B ẑ = x_t exactly (B of full row rank): the
    loss of the step after a forced step sees the model's one-step prediction from data."""
    model, x = _plrnn(M=6, N=3, seed=4), _data()
    _, states = _forced_by_hand(model, x, 1.0, 1)
    B = np.asarray(model.observation.B)
    np.testing.assert_allclose(states[1:] @ B.T, np.asarray(x[1:]), atol=1e-12)
    # jaxrnn: with forcing every step, the loss is the mean one-step error from those states
    step = np.array([np.asarray(model.step(jnp.asarray(z), jnp.zeros(0))) for z in states[:-1]])
    expected = np.mean((np.asarray(x[1:]) - step @ B.T) ** 2)
    np.testing.assert_allclose(teacher_forced_loss(model, x, 1.0, 1), expected, rtol=1e-12)


def test_forcing_jacobian_norm_is_the_mean_log_spectral_norm_along_the_forced_path(x64):
    from jaxrnn.training._reconstruction_objective import forcing_jacobian_norm

    model, x = _plrnn(M=5, N=3, seed=5), _data(T=20)
    _, states = _forced_by_hand(model, x, 0.5, 2)
    A, W = np.asarray(model.A), np.asarray(model.W)
    logs = [np.log(np.linalg.svd(np.diag(A) + W * (z > 0)[None, :], compute_uv=False)[0])
            for z in states[:-1]]
    np.testing.assert_allclose(forcing_jacobian_norm(model, x, 0.5, 2), np.mean(logs),
                               rtol=1e-9)


TINY = {"name": "rec", "seed": 0,
        "task": {"name": "reconstruction", "dataset": "van_der_pol", "T": 100, "n_train": 512,
                 "eval_steps": 5000},
        "model": {"name": "rplrnn", "hidden_size": 10, "reg_fraction": 0.2, "tau": 0.0},
        "train": {"batch_size": 16, "epochs": 10, "learning_rate": 1e-2, "chunk_steps": 32},
        "forcing": {"alpha": 1.0, "interval": 20}}


def test_a_tiny_reconstruction_run_lowers_state_space_divergence(tmp_path):
    config = config_from_dict(TINY)
    trainer = Trainer(config)
    untrained = trainer.evaluate(trainer.init_state().params)[0]
    summary = train(config, tmp_path / "run", progress=False)
    assert summary["best_d_stsp"] < 0.5 * untrained["d_stsp"], (summary, untrained)
    assert summary["best_test_loss"] < 0.2 * untrained["test_loss"]
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert {"d_stsp", "d_h", "spectrum_correlation", "alpha"} <= set(lines[0])
    again = jaxrnn.training.evaluate_run(tmp_path / "run")
    np.testing.assert_allclose(again["d_stsp"], summary["best_d_stsp"], rtol=1e-6)


def test_adaptive_alpha_follows_the_jacobians_and_resumes_exactly(tmp_path):
    raw = json.loads(json.dumps(TINY))
    raw["train"]["epochs"] = 3
    raw["forcing"] = {"alpha": 0.5, "interval": 1, "adaptive": True, "adapt_rate": 0.0}
    config = config_from_dict(raw)
    trainer = Trainer(config)
    state = trainer.adapt_alpha(trainer.init_state())
    # independently: the windows of the epoch's first batch, the forced states by hand, the
    # geometric mean G of the spectral norms of their region Jacobians, α = 1 − 1/G
    model = trainer.model()
    data = np.asarray(trainer.objective.train_data)
    logs = []
    for series, start in trainer.epoch_batches(0)[0, 0]:
        window = data[series, start:start + config.task.T]
        _, states = _forced_by_hand(model, window, 0.5, 1)
        A, W = np.asarray(model.A, float), np.asarray(model.W, float)
        logs.append(np.mean([np.log(np.linalg.norm(np.diag(A) + W * (z > 0)[None, :], 2))
                             for z in states[:-1]]))
    G = np.exp(np.mean(logs))
    np.testing.assert_allclose(float(state.hyper.alpha[0]), max(0.0, 1 - 1 / G), rtol=1e-4)
    train(config, tmp_path / "full", progress=False)
    train(config, tmp_path / "part", progress=False, stop_after_epochs=2)
    train(None, tmp_path / "part", resume=True, progress=False)
    a = (tmp_path / "full" / "last.eqx").read_bytes()
    b = (tmp_path / "part" / "last.eqx").read_bytes()
    assert a == b


def test_reconstruction_population_runs_in_one_program(tmp_path):
    raw = json.loads(json.dumps(TINY))
    raw["train"]["epochs"] = 2
    config = config_from_dict(raw)
    out = train_population(config, [{"model.tau": 0.0}, {"model.tau": 10.0},
                                    {"forcing.alpha": 0.5}], tmp_path / "p", progress=False)
    assert [s["status"] for s in out] == ["completed"] * 3
    assert all(np.isfinite(s["best_d_stsp"]) for s in out)


@pytest.mark.parametrize("override, key", [
    ("task.dataset=henon", "task.dataset"),
    ("model.name=lstm", "model.name"),
    ("forcing.alpha=1.5", "forcing.alpha"),
    ("forcing.interval=0", "forcing.interval"),
    ("task.n_samples=20", "task.n_samples"),
])
def test_bad_reconstruction_configs_name_the_key(tmp_path, capsys, override, key):
    path = tmp_path / "c.yaml"
    import yaml

    path.write_text(yaml.safe_dump(TINY))
    assert main(["train", str(path), "--set", override, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"'{key}'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_every_reconstruction_config_file_is_valid():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1] / "configs"
    files = sorted(root.glob("reconstruction_*.yaml"))
    assert files
    for f in files:
        config = jaxrnn.training.load_config(f)
        assert config.task.name == "reconstruction"


def test_config_error_for_subsequences_longer_than_the_series():
    raw = json.loads(json.dumps(TINY))
    raw["task"]["T"] = 3000
    with pytest.raises(ConfigError, match="task.T"):
        Trainer(config_from_dict(raw))

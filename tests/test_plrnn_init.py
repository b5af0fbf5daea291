"""The PLRNN's initialisation schemes and its learned initial state μ₀ (Schmidt et al.)."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.models._baselines import INPUT_STD
from jaxrnn.training import ConfigError, Trainer, build_model, config_from_dict
from jaxrnn.training._benchmark_objective import BenchmarkObjective, predict_batch
from jaxrnn.training._model_zoo import predict

M, K = 40, 2


def _authors_recurrence_by_hand(key, M):
    """REFERENCE's loop, written out: AW ~ N(0, 1/M); while ρ(AW) > 1: AW /= 1 + √M."""
    kw = jax.random.split(key, 6)[1]  # the key PLRNN draws its recurrence from
    aw = np.asarray(jax.random.normal(kw, (M, M), jnp.float64)) / math.sqrt(M)
    while np.max(np.abs(np.linalg.eigvals(aw))) > 1:
        aw = aw / (1 + math.sqrt(M))
    return aw


@pytest.mark.parametrize("seed", range(8))
def test_authors_recurrence_is_the_scaled_draw_with_spectral_radius_at_most_one(x64, seed):
    key = jax.random.PRNGKey(seed)
    model = jaxrnn.PLRNN(M, K, key=key, dtype=jnp.float64)
    aw = _authors_recurrence_by_hand(key, M)
    np.testing.assert_allclose(model.A, np.diag(aw), rtol=1e-12)
    np.testing.assert_allclose(model.W, aw - np.diag(np.diag(aw)), rtol=1e-12, atol=1e-15)
    full = np.diag(np.asarray(model.A)) + np.asarray(model.W)
    rho = np.max(np.abs(np.linalg.eigvals(full)))
    assert rho <= 1.0
    # ρ of an N(0, 1/M) matrix is close to 1 (circular law): a draw is either kept
    # (ρ in (0.8, 1]) or divided once by 1 + √40 (ρ ≈ 0.14)
    assert rho < 0.3 or 0.8 < rho


def test_authors_scales_of_C_h_B_and_mu0(x64):
    models = [jaxrnn.PLRNN(M, K, learn_z0=True, observation_size=1, key=jax.random.PRNGKey(s),
                           dtype=jnp.float64) for s in range(60)]
    C = np.concatenate([np.ravel(m.C) for m in models])
    h = np.concatenate([np.ravel(m.h) for m in models])
    B = np.concatenate([np.ravel(m.observation.B) for m in models])
    mu0 = np.concatenate([np.ravel(m.mu0) for m in models])
    c_std = math.sqrt(1 / M) * math.sqrt(2) * math.exp(1.2 / max(M, 6) - 2.4)
    assert abs(c_std - 0.0209) < 1e-4  # the value REFERENCE quotes for M = 40
    # n = 4800 (C), 2400 (h, B, mu0): the sample std is within 3 standard errors
    for x, std in [(C, c_std), (h, 1 / math.sqrt(M)), (B, 1 / math.sqrt(M))]:
        assert abs(np.std(x) / std - 1) < 3 / math.sqrt(2 * x.size), (np.std(x), std)
        assert abs(np.mean(x)) < 4 * std / math.sqrt(x.size)
    assert mu0.min() >= 0 and mu0.max() < 1
    assert abs(mu0.mean() - 0.5) < 4 * math.sqrt(1 / 12 / mu0.size)
    assert abs(mu0.var() - 1 / 12) < 0.1 / 12


@pytest.mark.parametrize("init", ["authors", "uniform"])
def test_fig_s1_units_are_exact_integrators(x64, init):
    n_reg = 20
    model = jaxrnn.PLRNN(M, K, n_regularised=n_reg, init=init, key=jax.random.PRNGKey(1))
    assert np.all(np.asarray(model.A[:n_reg]) == 1.0)
    assert np.all(np.asarray(model.W[:n_reg, :]) == 0.0)
    assert np.all(np.asarray(model.h[:n_reg]) == 0.0)
    assert np.all(np.asarray(model.A[n_reg:]) != 1.0)
    assert np.any(np.asarray(model.W[n_reg:, :]) != 0.0)
    if init == "authors":
        assert np.all(np.asarray(model.h[n_reg:]) != 0.0)
        eig = np.abs(np.linalg.eigvals(np.diag(np.asarray(model.A)) + np.asarray(model.W)))
        assert np.sum(np.isclose(eig, 1.0, atol=1e-12)) == n_reg and eig.max() <= 1 + 1e-12


def test_identity_init_is_the_iplrnn_with_the_authors_inputs(x64):
    model = jaxrnn.PLRNN(M, K, init="identity", learn_z0=True, key=jax.random.PRNGKey(2))
    assert np.all(np.asarray(model.A) == 1.0)
    assert np.all(np.asarray(model.W) == 0.0)
    assert np.all(np.asarray(model.h) == 0.0)
    authors = jaxrnn.PLRNN(M, K, learn_z0=True, key=jax.random.PRNGKey(2))
    np.testing.assert_array_equal(model.C, authors.C)
    np.testing.assert_array_equal(model.mu0, authors.mu0)


def test_uniform_init_is_the_former_scheme(x64):
    model = jaxrnn.PLRNN(M, K, init="uniform", key=jax.random.PRNGKey(3))
    A = np.asarray(model.A)
    assert A.min() >= 0.5 and A.max() < 0.9
    assert np.all(np.asarray(model.h) == 0.0)
    assert 0.5 < np.std(np.asarray(model.C)) * math.sqrt(K) < 1.6


def test_unknown_init_is_refused():
    # ValueError from PLRNN; under the suite's jaxtyping hook its annotation refuses first
    with pytest.raises((ValueError, TypeError),
                       match=r"init must be one of|Literal\['authors', 'identity', 'uniform'\]"):
        jaxrnn.PLRNN(4, 1, init="random", key=jax.random.PRNGKey(0))


def _cfg(**model):
    return config_from_dict({"task": {"name": "addition", "T": 20, "n_train": 64, "n_test": 32},
                             "model": {"hidden_size": 8, **model},
                             "train": {"batch_size": 16, "epochs": 1}})


def test_configs_choose_the_authors_scheme_and_learn_mu0_by_default(x64):
    key = jax.random.PRNGKey(0)
    r = build_model(_cfg(name="rplrnn").model, 2, 1, "regression", dtype=jnp.float64, key=key)
    assert r.mu0 is not None and r.n_regularised == 4
    np.testing.assert_array_equal(r.C, jaxrnn.PLRNN(8, 2, n_regularised=4, learn_z0=True,
                                                    observation_size=1, key=key).C)
    i = build_model(_cfg(name="iplrnn").model, 2, 1, "regression", dtype=jnp.float64, key=key)
    assert np.all(np.asarray(i.A) == 1) and i.mu0 is not None
    z = build_model(_cfg(name="plrnn", learn_z0=False, init="uniform").model, 2, 1,
                    "regression", dtype=jnp.float64, key=key)
    assert z.mu0 is None and np.asarray(z.A).min() >= 0.5


@pytest.mark.parametrize("units, H", [(None, 2), (40, 40), (3, 3)])
def test_the_lstm_gets_m_over_4_units_unless_lstm_units_says(units, H):
    """Sect. 4.1 of the rPLRNN paper gives the LSTM M/4 units; the authors' published
    Fig. 2 runs used 40 (``model.lstm_units``). The cell's state is [h, c], 2H long."""
    lstm = build_model(_cfg(name="lstm", lstm_units=units).model, 1, 10, "classification",
                       dtype=jnp.float32, key=jax.random.PRNGKey(0))
    assert isinstance(lstm, jaxrnn.models.LSTM)
    assert (lstm.hidden_size, lstm.state_size, lstm.W_h.shape) == (H, 2 * H, (4 * H, H))


@pytest.mark.parametrize("raw, key", [
    ({"model": {"name": "lstm", "init": "uniform"}}, "model.init"),
    ({"model": {"name": "rnn", "init": "identity"}}, "model.init"),
    ({"model": {"name": "rplrnn", "init": "jaxrnn"}}, "model.init"),
    ({"model": {"name": "rplrnn", "init": "glorot"}}, "model.init"),
    ({"model": {"name": "rplrnn", "lstm_units": 40}}, "model.lstm_units"),
    ({"model": {"name": "lstm", "lstm_units": 0}}, "model.lstm_units"),
    ({"model": {"name": "irnn", "learn_z0": True}}, "model.learn_z0"),
    ({"task": {"name": "reconstruction", "T": 20}, "model": {"name": "plrnn", "learn_z0": True}},
     "model.learn_z0"),
])
def test_bad_init_settings_name_their_key(raw, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        config_from_dict(raw)


def test_predictions_start_from_mu0_on_both_paths(x64):
    model = jaxrnn.PLRNN(6, 2, learn_z0=True, observation_size=1, key=jax.random.PRNGKey(4))
    x = jax.random.uniform(jax.random.PRNGKey(5), (3, 25, 2))
    fast = predict_batch(model, x)
    slow = jax.vmap(predict, (None, 0))(model, x)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)
    # by hand: iterate eq. 1 from mu0
    for b in range(3):
        z = np.asarray(model.mu0)
        A, W, C, h = (np.asarray(v) for v in (model.A, model.W, model.C, model.h))
        for t in range(25):
            z = A * z + W @ np.maximum(z, 0) + C @ np.asarray(x[b, t]) + h
        np.testing.assert_allclose(fast[b], np.asarray(model.observation.B) @ z, rtol=1e-10)
    zero = eqx.tree_at(lambda m: m.mu0, model, None, is_leaf=lambda v: v is None)
    assert not np.allclose(predict_batch(zero, x), fast)


def test_mu0_gradient_matches_finite_differences(x64):
    """∂L/∂μ₀ through plrnn_rollout's hand-written reverse pass, against central differences."""
    model = jaxrnn.PLRNN(5, 2, n_regularised=2, learn_z0=True, observation_size=1,
                         key=jax.random.PRNGKey(6))
    # a non-trivial recurrence, so that z0 reaches the read-out through ReLU switches
    model = eqx.tree_at(lambda m: m.W_raw, model, model.W_raw * 5.0)
    x = jax.random.uniform(jax.random.PRNGKey(7), (4, 15, 2))
    y = jax.random.uniform(jax.random.PRNGKey(8), (4, 1))

    def loss(mu0):
        m = eqx.tree_at(lambda m: m.mu0, model, mu0)
        return jnp.mean((predict_batch(m, x) - y) ** 2)

    mu0 = model.mu0
    g = jax.grad(loss)(mu0)
    eps = 1e-6
    fd = np.array([(loss(mu0.at[i].add(eps)) - loss(mu0.at[i].add(-eps))) / (2 * eps)
                   for i in range(5)])
    assert np.max(np.abs(fd)) > 1e-3
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8 * np.max(np.abs(fd)))


def test_trainer_updates_mu0_and_checkpoints_carry_it(tmp_path, x64):
    from jaxrnn.training import train
    from jaxrnn.training._checkpoint import load_tree

    config = _cfg(name="rplrnn")
    trainer = Trainer(config)
    before = np.asarray(trainer.member_params().mu0)
    state, _, _ = trainer.run_epoch(trainer.init_state())
    assert not np.allclose(np.asarray(trainer.member_params(state).mu0), before)
    run = tmp_path / "run"
    train(config, run, progress=False)
    best = load_tree(run / "best.eqx", Trainer(config).member_params())
    assert best.mu0 is not None and best.mu0.shape == (8,)


def test_baselines_start_neither_saturated_nor_exploding_at_T500(x64):
    """Input drive of the ReLU RNNs (std INPUT_STD) and the LSTM over an addition trial of
    length 500: the state stays O(1) and the LSTM's gates are not saturated."""
    from jaxrnn.tasks import make_task

    data = make_task("addition", T=500, n_train=16, n_test=16, seed=0)
    x = jnp.asarray(data.train_x)
    for init in ["random", "identity", "np"]:
        for seed in range(3):
            rnn = jaxrnn.models.ReLURNN(40, 2, 1, init=init, key=jax.random.PRNGKey(seed))
            if init != "random":  # PyTorch's U(±1/√M) for the contracting random RNN
                assert np.std(np.asarray(rnn.U)) < 2 * INPUT_STD
            ys = jax.vmap(lambda s: jaxrnn.simulate(rnn, jnp.zeros(40), inputs=s,
                                                    divergence_threshold=None).ys)(x)
            peak = float(jnp.max(jnp.abs(ys)))
            assert np.isfinite(peak) and peak < 10.0, (init, seed, peak)
    lstm = jaxrnn.models.LSTM(10, 2, 1, key=jax.random.PRNGKey(0))
    ys = jax.vmap(lambda s: jaxrnn.simulate(lstm, jnp.zeros(20), inputs=s,
                                            divergence_threshold=None).ys)(x)
    h = ys[:, :-1, :10]  # the state each input step starts from
    pre = jnp.einsum("gk,btk->btg", lstm.W_x, x) + jnp.einsum("gh,bth->btg", lstm.W_h, h) \
        + lstm.bias
    assert float(jnp.mean(jnp.abs(pre) > 4.0)) < 0.01  # sigmoid/tanh far from saturation
    assert float(jnp.max(jnp.abs(ys))) < 5.0


# ---------------------------------------------------------------- the authors' baselines


def _ks(sample, cdf) -> float:
    import scipy.stats

    return float(scipy.stats.kstest(np.asarray(sample, np.float64).ravel(), cdf).pvalue)


def test_authors_convention_draws_the_authors_code_distributions():
    """``model.init: authors`` on a baseline: every parameter follows the distribution of
    the authors' code (PyTorch's defaults and their changes; Kolmogorov-Smirnov against
    the exact CDFs), and a wrong law (jaxrnn's own) is rejected by the same test."""
    import scipy.stats

    M, N, K = 400, 400, 10
    a = 1.0 / math.sqrt(M)
    uniform, two = scipy.stats.uniform(-a, 2 * a).cdf, scipy.stats.triang(0.5, -2 * a, 4 * a).cdf
    key = jax.random.PRNGKey(3)
    authors = {i: jaxrnn.models.ReLURNN(M, K, N, init=i, convention="authors", key=key)
               for i in ("random", "identity", "np")}
    ours = jaxrnn.models.ReLURNN(M, K, N, init="random", key=key)
    assert _ks(authors["random"].b, two) > 1e-3  # b_ih + b_hh
    assert _ks(ours.b, two) < 1e-4
    for m in authors.values():  # nn.Linear's read-out: weight and bias U(±1/√M)
        assert _ks(m.c, uniform) > 1e-3
    assert _ks(authors["random"].V, uniform) > 1e-3 and _ks(authors["random"].U, uniform) > 1e-3
    assert _ks(authors["identity"].U, scipy.stats.norm(0, 1 / M).cdf) > 1e-3
    alpha = math.sqrt(2) * math.exp(1.2 / M - 2.4)
    assert _ks(authors["np"].U, scipy.stats.norm(0, alpha / M).cdf) > 1e-3
    assert _ks(authors["np"].V, scipy.stats.norm(0, 2 / (M + N)).cdf) > 1e-3
    for i in ("identity", "np"):  # the recurrence and bias as jaxrnn's (biases 0)
        same = jaxrnn.models.ReLURNN(M, K, N, init=i, key=key)
        np.testing.assert_array_equal(authors[i].W, same.W)
        assert not np.any(np.asarray(authors[i].b))
    H = 200
    lstm = jaxrnn.models.LSTM(H, K, N, convention="authors", key=key)
    b = np.asarray(lstm.bias)
    np.testing.assert_array_equal(b[H : 2 * H], 1.0)  # each forget slice 1/2
    h = 1.0 / math.sqrt(H)
    others = np.concatenate([b[:H], b[2 * H :]])
    assert _ks(others, scipy.stats.triang(0.5, -2 * h, 4 * h).cdf) > 1e-3
    assert _ks(lstm.c, scipy.stats.uniform(-h, 2 * h).cdf) > 1e-3
    with pytest.raises((ValueError, TypeError), match="convention"):
        jaxrnn.models.LSTM(4, 1, 1, convention="torch", key=key)  # pyright: ignore[reportArgumentType]


def test_model_init_authors_reaches_the_baselines_and_the_saved_config(x64):
    from jaxrnn.training._config_resolved import resolved_config_dict

    key = jax.random.PRNGKey(0)
    for name in ("rnn", "l2rnn", "irnn", "nprnn", "lstm"):
        cfg = _cfg(name=name, init="authors")
        model = build_model(cfg.model, 2, 1, "regression", dtype=jnp.float64, key=key)
        default = build_model(_cfg(name=name).model, 2, 1, "regression", dtype=jnp.float64,
                              key=key)
        assert float(abs(model.c).max()) > 0 and float(abs(default.c).max()) == 0
        assert resolved_config_dict(cfg)["model"]["init"] == "authors"
        assert "init" not in resolved_config_dict(_cfg(name=name))["model"]

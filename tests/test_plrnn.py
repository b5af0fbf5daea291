"""PLRNN / rPLRNN: the exact addition solution, structure, penalty, conversion (REFERENCE §3)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxrnn
from jaxrnn.tasks import addition_problem


def exact_addition_plrnn():
    """Suppl. 7.1.1: unit 1 integrates relu(unit 2) = value at marked steps."""
    return jaxrnn.PLRNN.from_arrays(
        A=jnp.array([1.0, 0.0]),
        W=jnp.array([[0.0, 1.0], [0.0, 0.0]]),
        h=jnp.array([0.0, -1.0]),
        C=jnp.array([[0.0, 0.0], [1.0, 1.0]]),
        B=jnp.array([[1.0, 0.0]]),
    )


def test_exact_two_unit_solution_solves_addition(x64):
    model = exact_addition_plrnn()
    inputs, targets = addition_problem(jax.random.PRNGKey(42), 1000, 200)

    def predict(s):
        traj = jaxrnn.simulate(model, jnp.zeros(2), inputs=s)
        return model.observe(traj.ys[-1])

    preds = jax.jit(jax.vmap(predict))(inputs)
    assert preds.shape == (1000, 1)
    assert float(jnp.max(jnp.abs(preds - targets))) < 1e-5


def test_w_diagonal_stays_zero_through_training(key, x64):
    model = jaxrnn.PLRNN(5, 1, observation_size=1, key=key)
    assert np.all(np.diag(model.W) == 0)
    opt = optax.adamw(0.1, weight_decay=0.5)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    state = opt.init(params)
    inputs = jax.random.normal(key, (10, 1))

    def loss(p):
        m = eqx.combine(p, static)
        z = jaxrnn.simulate(m, jnp.ones(5), inputs=inputs).ys[-1]
        # a loss that would love a non-zero diagonal: reward z_i relu(z_i) terms
        return -jnp.sum(m.W_raw * jnp.eye(5)) + jnp.sum(m.observe(z) ** 2)

    for _ in range(3):
        grads = jax.grad(loss)(params)
        updates, state = opt.update(grads, state, params)
        params = optax.apply_updates(params, updates)
    trained = eqx.combine(params, static)
    assert np.all(np.diag(np.asarray(trained.W)) == 0)
    # the effective map never sees the raw diagonal
    z = jnp.linspace(-1, 1, 5)
    manual = trained.A * z + (trained.W_raw * (1 - jnp.eye(5))) @ jax.nn.relu(z) + trained.h
    np.testing.assert_allclose(trained.step(z, jnp.zeros(1)), manual + trained.C @ jnp.zeros(1))


def test_from_arrays_rejects_diagonal_coupling():
    with pytest.raises(ValueError, match="zero diagonal"):
        jaxrnn.PLRNN.from_arrays(jnp.ones(2), jnp.eye(2), jnp.zeros(2))
    with pytest.raises(ValueError, match=r"h must have shape \(2,\)"):
        jaxrnn.PLRNN.from_arrays(jnp.ones(2), jnp.zeros((2, 2)), jnp.zeros(3))


def test_rplrnn_initialisation(key):
    model = jaxrnn.PLRNN(6, 2, n_regularised=3, key=key)
    np.testing.assert_array_equal(model.A[:3], 1.0)
    np.testing.assert_array_equal(model.W[:3], 0.0)
    np.testing.assert_array_equal(model.h[:3], 0.0)
    assert np.any(np.asarray(model.W[3:]) != 0)
    ident = jaxrnn.PLRNN(4, init="identity", key=key)
    np.testing.assert_array_equal(ident.A, 1.0)
    np.testing.assert_array_equal(ident.W, 0.0)
    with pytest.raises(ValueError, match="n_regularised"):
        jaxrnn.PLRNN(4, n_regularised=5, key=key)


def test_line_attractor_penalty_by_hand(x64):
    rng = np.random.default_rng(0)
    M, m = 5, 3
    A, W, h = rng.normal(size=M), rng.normal(size=(M, M)), rng.normal(size=M)
    np.fill_diagonal(W, 0.0)
    model = jaxrnn.PLRNN.from_arrays(A, W, h, n_regularised=m)
    tA, tW, th = 2.0, 3.0, 5.0
    a_sq = [(A[i] - 1) ** 2 for i in range(m)]
    w_sq = [W[i, j] ** 2 for i in range(m) for j in range(M) if j != i]
    h_sq = [h[i] ** 2 for i in range(m)]
    by_hand_sum = tA * sum(a_sq) + tW * sum(w_sq) + th * sum(h_sq)
    got = jaxrnn.line_attractor_penalty(model, tA, tW, th, reduction="sum")
    np.testing.assert_allclose(got, by_hand_sum, rtol=1e-13)
    # authors' code: means; W rows W[:m, :] (m*M entries, the zero diagonal included)
    by_hand_mean = tA * sum(a_sq) / m + tW * sum(w_sq) / (m * M) + th * sum(h_sq) / m
    got = jaxrnn.line_attractor_penalty(model, tA, tW, th, reduction="mean")
    np.testing.assert_allclose(got, by_hand_mean, rtol=1e-13)
    # tau_h defaults to tau_W
    np.testing.assert_allclose(
        jaxrnn.line_attractor_penalty(model, tA, tW), tA * sum(a_sq) + tW * (sum(w_sq) + sum(h_sq)),
        rtol=1e-13)
    assert float(jaxrnn.line_attractor_penalty(jaxrnn.PLRNN.from_arrays(A, W, h), 1, 1)) == 0.0
    # zero at the Fig. S1 initialisation
    init = jaxrnn.PLRNN(8, n_regularised=4, key=jax.random.PRNGKey(0))
    assert float(jaxrnn.line_attractor_penalty(init, 1.0, 1.0)) == 0.0


def _stable_positive_plrnn(seed=0, M=3, K=0):
    rng = np.random.default_rng(seed)
    A = rng.uniform(0.5, 0.9, M)
    W = 0.1 * rng.normal(size=(M, M))
    np.fill_diagonal(W, 0.0)
    z_star = np.ones(M)
    h = (np.eye(M) - np.diag(A) - W) @ z_star  # fixed point (1, ..., 1) in the positive orthant
    C = 0.01 * rng.normal(size=(M, K))
    return jaxrnn.PLRNN.from_arrays(A, W, h, C), z_star


def test_to_continuous_round_trip(x64):
    model, z_star = _stable_positive_plrnn(M=3, K=1)
    dt = 0.5
    flow = jaxrnn.to_continuous(model, dt)
    z0 = jnp.asarray(z_star + np.array([0.3, -0.2, 0.25]))
    s = jnp.array([0.7])
    inputs = jnp.broadcast_to(s, (10, 1))
    sol = jaxrnn.simulate(flow, z0, n_steps=10, dt=dt / 10, inputs=inputs, solver="tsit5",
                          rtol=1e-12, atol=1e-12)
    assert np.all(np.asarray(sol.ys) > 0)  # stayed in the positive orthant
    np.testing.assert_allclose(sol.ys[-1], model.step(z0, s), rtol=0, atol=1e-8)
    # fixed points agree: the flow vanishes at the map's fixed point
    np.testing.assert_allclose(flow.vector_field(0.0, jnp.asarray(z_star), jnp.zeros(1)), 0.0,
                               atol=1e-10)


def test_to_continuous_handles_line_attractors(x64):
    """A regularised unit (A=1, W row 0) has eigenvalue 1 in every region; still exact."""
    A = np.array([1.0, 0.6])
    W = np.array([[0.0, 0.0], [0.2, 0.0]])
    h = np.array([0.05, 0.3])
    model = jaxrnn.PLRNN.from_arrays(A, W, h)
    flow = jaxrnn.to_continuous(model, 1.0)
    z0 = jnp.array([1.0, 2.0])
    sol = jaxrnn.simulate(flow, z0, n_steps=20, dt=0.05, solver="tsit5", rtol=1e-12, atol=1e-12)
    assert np.all(np.asarray(sol.ys) > 0)
    np.testing.assert_allclose(sol.ys[-1], model.step(z0, jnp.zeros(0)), atol=1e-8)


def test_to_continuous_refuses_negative_eigenvalues():
    model = jaxrnn.PLRNN.from_arrays(jnp.array([-0.5, 0.5]), jnp.zeros((2, 2)), jnp.zeros(2))
    with pytest.raises(ValueError, match="negative real eigenvalue"):
        jaxrnn.to_continuous(model, 0.1)
    defective = jaxrnn.PLRNN.from_arrays(jnp.array([0.5, 0.5]), jnp.array([[0.0, 1.0], [0.0, 0.0]]),
                                         jnp.zeros(2))
    with pytest.raises(ValueError, match=r"region Ω=\{1\}.*not diagonalisable"):
        jaxrnn.to_continuous(defective, 0.1)

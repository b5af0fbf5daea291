"""Caruso & Jarne: the operators R_τ, D_Δ, L and their commutation (REFERENCE §1)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jaxrnn

ACTIVATIONS = ["tanh", "hardtanh", "sigmoid", "identity"]
seeds = st.integers(0, 2**31 - 1)
taus = st.floats(0.1, 10.0)
dts = st.floats(1e-3, 0.5)
sizes = st.sampled_from([1, 2, 5])  # few shapes: each new shape is a new compilation


def random_ctrnn(seed, n, k=2, activation="tanh"):
    keys = jax.random.split(jax.random.PRNGKey(seed), 4)
    model = jaxrnn.CTRNN(n, k, activation=activation, gain=1.5,
                         decay=jax.random.uniform(keys[0], (n,), minval=0.2, maxval=2.0),
                         key=keys[1])
    b = jax.random.normal(keys[2], (n,))
    return jaxrnn.CTRNN.from_arrays(model.W, b, model.input_weight, model.decay, activation)


def random_points(seed, n, k, count=5):
    ky, kx = jax.random.split(jax.random.PRNGKey(seed + 1))
    return 2 * jax.random.normal(ky, (count, n)), jax.random.normal(kx, (count, k))


@given(seeds, sizes, taus, dts, st.sampled_from(ACTIVATIONS))
def test_discretise_rescale_commute(seed, n, tau, dt, act):
    """D_Δ ∘ R_τ = D_{τΔ}: sample for sample along whole trajectories."""
    model = random_ctrnn(seed, n, activation=act)
    lhs = jaxrnn.discretise(jaxrnn.rescale(model, tau), dt)
    rhs = jaxrnn.discretise(model, tau * dt)
    ys, xs = random_points(seed, n, 2)
    for y, x in zip(ys, xs):
        np.testing.assert_allclose(lhs.step(y, x), rhs.step(y, x), rtol=1e-12, atol=1e-12, equal_nan=False)
    inputs = jnp.sin(jnp.arange(40.0))[:, None] * jnp.ones(2)
    _same_trajectory(jaxrnn.simulate(lhs, ys[0], inputs=inputs),
                     jaxrnn.simulate(rhs, ys[0], inputs=inputs))
    # and through the continuous simulate: Euler step Δ on R_τ vs step τΔ on the original
    _same_trajectory(
        jaxrnn.simulate(jaxrnn.rescale(model, tau), ys[0], n_steps=40, dt=dt, inputs=inputs),
        jaxrnn.simulate(model, ys[0], n_steps=40, dt=tau * dt, inputs=inputs))


def _same_trajectory(a, b):
    """Equal trajectories; a diverged one (Euler with a large τΔ) must diverge in both, at
    the same step, and agree before it. NaN never passes as equal."""
    assert bool(a.diverged) == bool(b.diverged)
    ya, yb = np.asarray(a.ys), np.asarray(b.ys)
    finite = np.isfinite(ya)
    np.testing.assert_array_equal(finite, np.isfinite(yb))
    assert finite[0].all()
    np.testing.assert_allclose(ya[finite], yb[finite], rtol=1e-10, atol=1e-10, equal_nan=False)


@given(seeds, sizes, dts, st.sampled_from(ACTIVATIONS))
def test_discretise_linearise_commute(seed, n, dt, act):
    """D_Δ ∘ L = L ∘ D_Δ: both are h ↦ (I + ΔA) h + Δ(B x + c)."""
    model = random_ctrnn(seed, n, activation=act)
    d_of_l = jaxrnn.discretise(jaxrnn.linearise(model), dt)  # Euler map of the linear flow
    l_of_d = jaxrnn.linearise(jaxrnn.discretise(model, dt))  # linearised Euler map
    assert isinstance(l_of_d, jaxrnn.AffineMap)
    flow = jaxrnn.linearise(model)
    np.testing.assert_allclose(l_of_d.M, np.eye(n) + dt * flow.A, rtol=1e-12, atol=1e-12, equal_nan=False)
    np.testing.assert_allclose(l_of_d.N, dt * flow.B, rtol=1e-12, atol=1e-12, equal_nan=False)
    np.testing.assert_allclose(l_of_d.c, dt * flow.c, rtol=1e-12, atol=1e-12, equal_nan=False)
    ys, xs = random_points(seed, n, 2)
    for y, x in zip(ys, xs):
        np.testing.assert_allclose(d_of_l.step(y, x), l_of_d.step(y, x), rtol=1e-12, atol=1e-12, equal_nan=False)


@given(seeds, sizes, taus, st.sampled_from(ACTIVATIONS))
def test_linearise_rescale_commute(seed, n, tau, act):
    """L ∘ R_τ = R_τ ∘ L: h' = τA h + τB x + τb either way (τ on b too)."""
    model = random_ctrnn(seed, n, activation=act)
    l_of_r = jaxrnn.linearise(jaxrnn.rescale(model, tau))
    r_of_l = jaxrnn.rescale(jaxrnn.linearise(model), tau)
    flow = jaxrnn.linearise(model)
    np.testing.assert_allclose(l_of_r.A, tau * flow.A, rtol=1e-12, atol=1e-12, equal_nan=False)
    np.testing.assert_allclose(l_of_r.B, tau * flow.B, rtol=1e-12, atol=1e-12, equal_nan=False)
    np.testing.assert_allclose(l_of_r.c, tau * flow.c, rtol=1e-12, atol=1e-12, equal_nan=False)
    ys, xs = random_points(seed, n, 2)
    for y, x in zip(ys, xs):
        np.testing.assert_allclose(l_of_r.vector_field(0.0, y, x), r_of_l.vector_field(0.0, y, x),
                                   rtol=1e-12, atol=1e-12, equal_nan=False)


@given(seeds, sizes, taus)
def test_rescale_is_invertible(seed, n, tau):
    model = random_ctrnn(seed, n)
    back = jaxrnn.rescale(jaxrnn.rescale(model, tau), 1.0 / tau)
    ys, xs = random_points(seed, n, 2)
    for y, x in zip(ys, xs):
        np.testing.assert_allclose(back.vector_field(0.0, y, x), model.vector_field(0.0, y, x),
                                   rtol=1e-12, atol=1e-12, equal_nan=False)


def test_linearised_ctrnn_has_the_closed_form(key, x64):
    """L of eq. 2: h' = (σ'(0) W − λI) h + σ'(0) W_in x + σ(0) + σ'(0) b."""
    model = random_ctrnn(3, 4, activation="sigmoid")
    flow = jaxrnn.linearise(model)
    lam = np.diag(np.broadcast_to(np.asarray(model.decay), (4,)))
    np.testing.assert_allclose(flow.A, 0.25 * np.asarray(model.W) - lam, atol=1e-14)
    np.testing.assert_allclose(flow.B, 0.25 * np.asarray(model.input_weight), atol=1e-14)
    np.testing.assert_allclose(flow.c, 0.5 + 0.25 * np.asarray(model.bias), atol=1e-14)
    tanh_flow = jaxrnn.linearise(random_ctrnn(3, 4, activation="tanh"))
    tanh_model = random_ctrnn(3, 4, activation="tanh")
    np.testing.assert_allclose(tanh_flow.c, tanh_model.bias, atol=1e-14)


def test_relu_linearisation_needs_a_one_sided_slope(key):
    model = jaxrnn.CTRNN(3, 0, activation="relu", key=key)
    with pytest.raises(ValueError, match="one_sided_slope"):
        jaxrnn.linearise(model)
    right = jaxrnn.linearise(model, one_sided_slope=1.0)
    left = jaxrnn.linearise(model, one_sided_slope=0.0)
    np.testing.assert_allclose(right.A, model.W - np.eye(3), atol=1e-14)
    np.testing.assert_allclose(left.A, -np.eye(3), atol=1e-14)


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_jacobian_linearisation_at_an_operating_point(method, x64):
    model = random_ctrnn(11, 3, activation="tanh")
    h0, x0 = jnp.array([0.4, -0.7, 1.1]), jnp.array([0.3, -0.2])
    for system in (model, jaxrnn.discretise(model, 0.1, method)):
        lin = jaxrnn.linearise(system, at=h0, x=x0)
        f = (lambda y, x: system.vector_field(0.0, y, x)) if isinstance(
            system, jaxrnn.AbstractContinuousSystem) else system.step
        # agrees with F at the operating point, and with central finite differences
        out = lin.vector_field(0.0, h0, x0) if hasattr(lin, "A") else lin.step(h0, x0)
        np.testing.assert_allclose(out, f(h0, x0), atol=1e-13)
        J = lin.A if hasattr(lin, "A") else lin.M
        eps = 1e-6
        for i in range(3):
            e = jnp.zeros(3).at[i].set(eps)
            fd = (f(h0 + e, x0) - f(h0 - e, x0)) / (2 * eps)
            np.testing.assert_allclose(J[:, i], fd, rtol=1e-7, atol=1e-9)


def test_operators_pass_through_jit_vmap_and_grad(x64):
    model = random_ctrnn(5, 3)
    y, x = jnp.ones(3), jnp.ones(2)

    @jax.jit
    def euler_of_rescaled(tau, dt):
        return jaxrnn.discretise(jaxrnn.rescale(model, tau), dt).step(y, x)

    grid = jax.vmap(euler_of_rescaled)(jnp.array([0.5, 2.0]), jnp.array([0.1, 0.2]))
    np.testing.assert_allclose(grid[1], jaxrnn.discretise(model, 0.4).step(y, x), atol=1e-14)
    g = jax.grad(lambda tau: jnp.sum(euler_of_rescaled(tau, 0.1)))(1.0)
    # d/dτ of y + τΔF(y) is ΔΣF(y)
    np.testing.assert_allclose(g, 0.1 * jnp.sum(model.vector_field(0.0, y, x)), atol=1e-13)
    A_of_tau = jax.vmap(lambda tau: jaxrnn.linearise(jaxrnn.rescale(model, tau)).A)(
        jnp.array([1.0, 3.0]))
    np.testing.assert_allclose(A_of_tau[1], 3 * A_of_tau[0], atol=1e-13)


def test_operator_input_errors(key):
    model = jaxrnn.CTRNN(2, 0, key=key)
    with pytest.raises(ValueError, match="tau must be positive"):
        jaxrnn.rescale(model, -1.0)
    with pytest.raises(ValueError, match="dt must be positive"):
        jaxrnn.discretise(model, 0.0)
    # our message; under the suite's jaxtyping hook the annotation refuses first
    with pytest.raises(TypeError, match="continuous system|AbstractContinuousSystem"):
        jaxrnn.rescale(jaxrnn.discretise(model, 0.1), 2.0)
    with pytest.raises(ValueError, match="no activation"):
        jaxrnn.linearise(jaxrnn.PLRNN(2, key=key))

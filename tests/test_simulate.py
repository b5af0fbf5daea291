"""simulate: analytic solutions, convergence order, Euler vs diffrax, gradients, vmap."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import jaxrnn


def _linear_ctrnn(key, n=3, k=2, with_bias=True):
    kw, kb, ki = jax.random.split(key, 3)
    W = jax.random.normal(kw, (n, n)) / np.sqrt(n)
    b = jax.random.normal(kb, (n,)) if with_bias else jnp.zeros(n)
    W_in = jax.random.normal(ki, (n, k))
    return jaxrnn.CTRNN.from_arrays(W, b, W_in, decay=1.5, activation="identity")


def _exact_linear(model, h0, t):
    """h(t) of h' = A h + b, A = W - λI, by the augmented matrix exponential."""
    A = np.asarray(model.W) - float(model.decay) * np.eye(model.state_size)
    n = A.shape[0]
    aug = np.zeros((n + 1, n + 1))
    aug[:n, :n] = A
    aug[:n, n] = np.asarray(model.bias)
    return (scipy.linalg.expm(aug * t) @ np.append(np.asarray(h0), 1.0))[:n]


def test_linear_ctrnn_tsit5_matches_expm(key, x64):
    model = _linear_ctrnn(key, k=0)
    h0 = jnp.array([1.0, -0.5, 0.25])
    sol = jaxrnn.simulate(model, h0, t1=2.0, dt=0.1, solver="tsit5", rtol=1e-12, atol=1e-12)
    for t, y in zip(np.asarray(sol.ts), np.asarray(sol.ys)):
        np.testing.assert_allclose(y, _exact_linear(model, h0, t), rtol=0, atol=1e-9)
    assert sol.ys.shape == (21, 3)
    # Fixed small steps reach the same accuracy.
    fixed = jaxrnn.simulate(model, h0, t1=2.0, dt=1e-3, solver=diffrax.Tsit5())
    np.testing.assert_allclose(fixed.ys[-1], _exact_linear(model, h0, 2.0), atol=1e-9)


def test_euler_converges_at_order_one(key, x64):
    model = _linear_ctrnn(key, k=0)
    h0 = jnp.array([1.0, -0.5, 0.25])
    exact = _exact_linear(model, h0, 1.0)
    dts = np.array([0.02, 0.01, 0.005, 0.0025])
    errs = [
        np.linalg.norm(np.asarray(jaxrnn.simulate(model, h0, t1=1.0, dt=float(dt)).ys[-1]) - exact)
        for dt in dts
    ]
    slope = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    assert abs(slope - 1.0) <= 0.2, (slope, errs)


@pytest.mark.parametrize("callable_inputs", [False, True])
def test_hand_euler_equals_diffrax_euler(key, x64, callable_inputs):
    model = jaxrnn.CTRNN(4, 2, activation="tanh", key=key)
    h0 = jnp.linspace(-1, 1, 4)
    n, dt = 200, 0.01
    grid = dt * jnp.arange(n)
    samples = jnp.stack([jnp.sin(3 * grid), jnp.cos(grid)], axis=1)
    inputs = (lambda t: jnp.stack([jnp.sin(3 * t), jnp.cos(t)])) if callable_inputs else samples
    ours = jaxrnn.simulate(model, h0, t1=n * dt, dt=dt, inputs=inputs)
    theirs = jaxrnn.simulate(model, h0, t1=n * dt, dt=dt, inputs=inputs, solver="diffrax_euler")
    np.testing.assert_allclose(ours.ys, theirs.ys, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.ts, theirs.ts, rtol=0, atol=1e-12)


@pytest.mark.parametrize("solver", ["euler", "tsit5"])
def test_gradient_through_simulate_matches_finite_differences(key, x64, solver):
    model = jaxrnn.CTRNN(3, 1, activation="tanh", gain=1.5, key=key)
    h0 = jnp.array([0.3, -0.2, 0.1])
    inputs = jnp.sin(0.1 * jnp.arange(50))[:, None]

    def loss(w_scale, b0):
        m = jaxrnn.CTRNN.from_arrays(model.W * w_scale, model.bias.at[0].set(b0),
                                     model.input_weight, activation="tanh")
        ys = jaxrnn.simulate(m, h0, t1=2.5, dt=0.05, inputs=inputs, solver=solver).ys
        return jnp.sum(ys[-1] ** 2) + jnp.mean(ys[:, 1])

    g = jax.grad(loss, argnums=(0, 1))(1.0, 0.2)
    eps = 1e-6
    fd = ((loss(1.0 + eps, 0.2) - loss(1.0 - eps, 0.2)) / (2 * eps),
          (loss(1.0, 0.2 + eps) - loss(1.0, 0.2 - eps)) / (2 * eps))
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_gradient_through_map_simulation_matches_finite_differences(key, x64):
    plrnn = jaxrnn.PLRNN(4, 2, key=key)
    z0 = jnp.array([0.5, -0.3, 0.2, 0.1])
    inputs = jax.random.uniform(jax.random.PRNGKey(3), (30, 2))

    def loss(scale):
        p = eqx_scale_C(plrnn, scale)
        return jnp.sum(jaxrnn.simulate(p, z0, inputs=inputs).ys[-1] ** 2)

    eps = 1e-6
    fd = (loss(1.0 + eps) - loss(1.0 - eps)) / (2 * eps)
    np.testing.assert_allclose(jax.grad(loss)(1.0), fd, rtol=1e-6)


def eqx_scale_C(plrnn, scale):
    import equinox as eqx

    return eqx.tree_at(lambda p: p.C, plrnn, plrnn.C * scale)


def test_vmap_over_tau_and_dt_equals_python_loop(key, x64):
    model = jaxrnn.CTRNN(3, 0, activation="tanh", gain=2.0, key=key)
    h0 = jnp.array([0.5, -0.5, 0.2])
    taus = jnp.array([0.5, 1.0, 2.0])
    dts = jnp.array([0.01, 0.02, 0.05, 0.1])

    def final(tau, dt):
        sys = jaxrnn.rescale(model, tau)
        return jaxrnn.simulate(sys, h0, n_steps=100, dt=dt).ys[-1]

    grid = jax.jit(jax.vmap(jax.vmap(final, (None, 0)), (0, None)))(taus, dts)
    for i, tau in enumerate(taus):
        for j, dt in enumerate(dts):
            np.testing.assert_allclose(grid[i, j], final(tau, dt), rtol=0, atol=1e-13)


def test_vmap_over_initial_states_and_parameters(key, x64):
    plrnn = jaxrnn.PLRNN(3, 0, key=key)
    z0s = jax.random.normal(jax.random.PRNGKey(1), (5, 3))
    batched = jax.vmap(lambda z: jaxrnn.simulate(plrnn, z, 20).ys)(z0s)
    for i in range(5):
        np.testing.assert_allclose(batched[i], jaxrnn.simulate(plrnn, z0s[i], 20).ys, atol=1e-14)
    hs = jnp.linspace(-1, 1, 4)[:, None] * jnp.ones(3)
    import equinox as eqx

    models = jax.vmap(lambda h: eqx.tree_at(lambda p: p.h, plrnn, h))(hs)
    out = eqx.filter_vmap(lambda m: jaxrnn.simulate(m, z0s[0], 10).ys[-1])(models)
    for i in range(4):
        ref = jaxrnn.simulate(eqx.tree_at(lambda p: p.h, plrnn, hs[i]), z0s[0], 10).ys[-1]
        np.testing.assert_allclose(out[i], ref, atol=1e-14)


@pytest.mark.parametrize("solver", ["euler", "tsit5"])
def test_divergence_is_flagged_not_inf(x64, solver):
    unstable = jaxrnn.LinearFlow(jnp.array([[2.0, 0.0], [0.0, 1.0]]))
    sol = jaxrnn.simulate(unstable, jnp.array([1.0, 1.0]), t1=20.0, dt=0.1, solver=solver,
                          divergence_threshold=1e4)
    assert bool(sol.diverged)
    ys = np.asarray(sol.ys)
    finite = np.isfinite(ys).all(axis=1)
    assert finite[0] and not finite[-1]
    assert not np.isinf(ys).any()  # NaN after divergence, never inf
    assert np.linalg.norm(ys[finite], axis=1).max() <= 1e4 * (1 + 1e-12)
    calm = jaxrnn.simulate(unstable, jnp.array([1.0, 1.0]), t1=1.0, dt=0.1, solver=solver)
    assert not bool(calm.diverged)


def test_divergence_gradient_stays_finite(x64):
    flow = jaxrnn.LinearFlow(jnp.array([[3.0]]))

    def loss(a):
        f = jaxrnn.LinearFlow(jnp.array([[a]]))
        ys = jaxrnn.simulate(f, jnp.array([1.0]), t1=10.0, dt=0.1, divergence_threshold=1e3).ys
        return jnp.nansum(ys)

    assert np.isfinite(jax.grad(loss)(3.0))
    assert flow.state_size == 1


def test_saveat_final_and_times(key, x64):
    model = jaxrnn.CTRNN(3, 0, key=key)
    h0 = jnp.ones(3)
    full = jaxrnn.simulate(model, h0, t1=1.0, dt=0.1)
    final = jaxrnn.simulate(model, h0, t1=1.0, dt=0.1, saveat="t1")
    np.testing.assert_allclose(final.ys[0], full.ys[-1], atol=1e-15)
    some = jaxrnn.simulate(model, h0, t1=1.0, dt=0.1, saveat=jnp.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(some.ys, full.ys[jnp.array([0, 5, 10])], atol=1e-15)
    with pytest.raises(ValueError, match="grid"):
        jaxrnn.simulate(model, h0, t1=1.0, dt=0.1, saveat=jnp.array([0.05]))


def test_map_simulation_layout_and_noise(key, x64):
    plrnn = jaxrnn.PLRNN(3, 1, noise_std=0.1, key=key)
    z0 = jnp.zeros(3)
    inputs = jnp.ones((7, 1))
    det = jaxrnn.simulate(plrnn, z0, 7, inputs=inputs)
    assert det.ys.shape == (8, 3) and det.ts.shape == (8,)
    np.testing.assert_allclose(det.ys[0], z0)
    np.testing.assert_allclose(det.ys[1], plrnn.step(z0, inputs[0]))
    a = jaxrnn.simulate(plrnn, z0, 7, inputs=inputs, key=jax.random.PRNGKey(1))
    b = jaxrnn.simulate(plrnn, z0, 7, inputs=inputs, key=jax.random.PRNGKey(1))
    np.testing.assert_array_equal(a.ys, b.ys)
    assert not np.allclose(a.ys[1:], det.ys[1:])


def test_bad_shapes_give_clear_errors(key):
    model = jaxrnn.CTRNN(3, 2, key=key)
    with pytest.raises(ValueError, match=r"y0 must have shape \(3,\)"):
        jaxrnn.simulate(model, jnp.ones(4), t1=1.0, dt=0.1, inputs=jnp.ones((10, 2)))
    with pytest.raises(ValueError, match=r"inputs must have shape"):
        jaxrnn.simulate(model, jnp.ones(3), t1=1.0, dt=0.1, inputs=jnp.ones((10, 3)))
    with pytest.raises(ValueError, match="whole number of steps"):
        jaxrnn.simulate(model, jnp.ones(3), t1=1.0, dt=0.3, inputs=jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="unknown solver"):
        jaxrnn.simulate(model, jnp.ones(3), t1=1.0, dt=0.1, solver="rk99",
                        inputs=jnp.ones((10, 2)))


def test_step_and_saveat_checks_hold_under_jit(key, x64):
    """dt ≤ 0 and saveat times off the Euler grid are refused when the values are traced
    too (inside the program, eqx.error_if), whatever output the program returns."""
    import equinox as eqx

    net = jaxrnn.CTRNN(3, key=key)
    z0 = jnp.zeros(3)

    @eqx.filter_jit
    def run(dt, ts):
        sol = jaxrnn.simulate(net, z0, n_steps=10, dt=dt, saveat=ts)
        return sol.ts, sol.ys

    ts, ys = run(0.1, jnp.array([0.2, 0.5]))
    np.testing.assert_allclose(ts, [0.2, 0.5])
    for dt, when in [(-0.1, jnp.array([0.2])), (jnp.nan, jnp.array([0.2]))]:
        with pytest.raises(Exception, match="dt must be finite and > 0"):
            jax.block_until_ready(run(dt, when))
    with pytest.raises(Exception, match="saveat times must lie on the grid"):
        jax.block_until_ready(run(0.1, jnp.array([0.25])))
    only_ts = eqx.filter_jit(lambda t: jaxrnn.simulate(net, z0, n_steps=10, dt=0.1, saveat=t).ts)
    with pytest.raises(Exception, match="saveat times must lie on the grid"):
        jax.block_until_ready(only_ts(jnp.array([1.5])))  # beyond the grid's end
    # known values are still refused at once, before anything runs
    with pytest.raises(ValueError, match="dt must be finite and > 0, got -0.1"):
        jaxrnn.simulate(net, z0, n_steps=10, dt=-0.1)

"""Casoni et al.: invariants of skew-symmetric networks, Euler growth, spectra; fixed points."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jaxrnn
from jaxrnn.analysis import (
    dominant_frequency,
    energy,
    find_fixed_points,
    invariant_drift,
    power_spectrum,
    spectrogram,
)

ODD = ["tanh", "hardtanh", "identity"]


def skew_net(n, activation, form, seed=0, bias=False):
    key = jax.random.PRNGKey(seed)
    model = jaxrnn.CTRNN(n, 0, activation=activation, decay=0.0, recurrent="skew", form=form,
                         gain=2.0, key=key)
    if bias and form == "activation":
        b = 0.3 * jax.random.normal(jax.random.fold_in(key, 1), (n,))
        model = jaxrnn.CTRNN.from_arrays(model.W, b, decay=0.0, activation=activation,
                                         recurrent="skew", form=form)
    return model


@pytest.mark.parametrize("activation", ODD)
@pytest.mark.parametrize("form", ["rate", "activation"])
def test_invariant_is_conserved_along_tsit5_trajectories(x64, activation, form):
    """Skew nets of n = 2 and n = 20 units (the pointwise test below also draws n = 5 and
    12), integrated as ONE block-diagonal system (one compilation; the blocks do not
    interact, checked on the vector field): each block's own invariant is conserved."""
    nets = [skew_net(n, activation, form, seed=n, bias=True) for n in (2, 20)]
    W = jax.scipy.linalg.block_diag(*(m.W for m in nets))
    b = jnp.concatenate([m.bias for m in nets])
    both = jaxrnn.CTRNN.from_arrays(W, b, decay=0.0, activation=activation, recurrent="skew",
                                    form=form)
    z0s = [1.5 * jax.random.normal(jax.random.PRNGKey(100 + n), (n,)) for n in (2, 20)]
    z0 = jnp.concatenate(z0s)
    np.testing.assert_allclose(
        both.vector_field(0.0, z0, jnp.zeros(0)),
        jnp.concatenate([m.vector_field(0.0, z, jnp.zeros(0)) for m, z in zip(nets, z0s)]),
        rtol=1e-14, atol=1e-14)
    sol = jaxrnn.simulate(both, z0, t1=20.0, dt=0.5, solver="tsit5", rtol=1e-12, atol=1e-12,
                          max_steps=100_000)
    assert not bool(sol.diverged)
    for model, part in zip(nets, (slice(0, 2), slice(2, 22))):
        drift = np.asarray(invariant_drift(model, sol.ys[:, part]))
        assert drift.max() < 1e-8, drift.max()
        # ... while the state itself really moves
        assert np.linalg.norm(np.asarray(sol.ys[-1, part] - sol.ys[0, part])) > 1e-2


@pytest.mark.parametrize("form", ["rate", "activation"])
@given(seed=st.integers(0, 10_000), n=st.sampled_from([2, 5, 12]), activation=st.sampled_from(ODD))
def test_invariant_has_zero_time_derivative(x64, form, seed, n, activation):
    model = skew_net(n, activation, form, seed=seed, bias=True)
    z = 2.0 * jax.random.normal(jax.random.PRNGKey(seed + 1), (n,))
    grad_H = jax.grad(lambda v: energy(model, v))(z)
    F = model.vector_field(0.0, z, jnp.zeros(0))
    scale = float(jnp.linalg.norm(grad_H) * jnp.linalg.norm(F)) + 1e-300
    assert abs(float(grad_H @ F)) <= 1e-13 * scale


def test_tanh_energy_in_2d_is_log_cosh_product(x64):
    W = jnp.array([[0.0, -1.0], [1.0, 0.0]])
    model = jaxrnn.CTRNN.from_arrays(W, decay=0.0, activation="tanh", form="rate")
    z = jnp.array([[0.3, -1.2], [4.0, 2.5], [30.0, -40.0]])
    expected = np.log(np.cosh(z[:, 0]) * np.cosh(z[:, 1]))
    np.testing.assert_allclose(energy(model, z), expected, rtol=1e-13)


def test_user_activation_with_primitive(x64):
    act = jaxrnn.CustomActivation(fn=jnp.arctan,
                                  primitive_fn=lambda u: u * jnp.arctan(u) - 0.5 * jnp.log1p(u * u),
                                  declared_odd=True, declared_bounded=True)
    model = jaxrnn.CTRNN(4, 0, activation=act, decay=0.0, recurrent="skew", form="rate",
                         key=jax.random.PRNGKey(3))
    sol = jaxrnn.simulate(model, jnp.array([1.0, -0.5, 0.3, 2.0]), t1=10.0, dt=0.5,
                          solver="tsit5", rtol=1e-12, atol=1e-12)
    assert np.asarray(invariant_drift(model, sol.ys)).max() < 1e-8


def test_no_invariant_is_a_clear_error(key):
    skew = jaxrnn.CTRNN(3, 0, recurrent="skew", decay=0.0, key=key)
    leaky = jaxrnn.CTRNN(3, 0, recurrent="skew", decay=1.0, key=key)
    with pytest.raises(ValueError, match="decay must be 0"):
        energy(leaky, jnp.ones(3))
    free = jaxrnn.CTRNN(3, 0, decay=0.0, key=key)
    with pytest.raises(ValueError, match="not skew-symmetric"):
        energy(free, jnp.ones(3))
    biased_rate = jaxrnn.CTRNN.from_arrays(skew.W, jnp.ones(3), decay=0.0, form="rate",
                                           recurrent="skew")
    with pytest.raises(ValueError, match="rate form a bias"):
        energy(biased_rate, jnp.ones(3))
    nameless = jaxrnn.CTRNN.from_arrays(skew.W, decay=0.0, activation=jnp.sin, recurrent="skew")
    with pytest.raises(ValueError, match="no known primitive"):
        energy(nameless, jnp.ones(3))


def test_linear_forward_euler_grows_by_sqrt_one_plus_h2_omega2(x64):
    W = jnp.array([[0.0, -1.0], [1.0, 0.0]])
    linear = jaxrnn.CTRNN.from_arrays(W, decay=0.0, activation="identity", form="rate")
    sol = jaxrnn.simulate(linear, jnp.array([1.0, 0.0]), t1=100.0, dt=0.1)
    norms = np.linalg.norm(np.asarray(sol.ys), axis=1)
    np.testing.assert_allclose(norms[1:] / norms[:-1], np.sqrt(1.01), rtol=1e-12)
    np.testing.assert_allclose(norms[-1], 1.01 ** 500, rtol=1e-10)
    assert abs(norms[-1] - 144.77) < 0.01
    # The same Euler run under tanh stays far below: each step moves z by at most
    # h·|A tanh z| ≤ h·√2, so the norm cannot grow geometrically.
    tanh = jaxrnn.CTRNN.from_arrays(W, decay=0.0, activation="tanh", form="rate")
    bounded = np.linalg.norm(np.asarray(
        jaxrnn.simulate(tanh, jnp.array([1.0, 0.0]), t1=100.0, dt=0.1).ys), axis=1)
    assert bounded.max() < norms[-1] / 20
    assert np.all(np.diff(bounded) <= 0.1 * np.sqrt(2) + 1e-12)
    bounded_act = np.linalg.norm(np.asarray(jaxrnn.simulate(
        jaxrnn.CTRNN.from_arrays(W, decay=0.0, activation="tanh"), jnp.array([1.0, 0.0]),
        t1=100.0, dt=0.1).ys), axis=1)
    assert bounded_act.max() < 20.0


@pytest.mark.parametrize("f", [0.7, 3.0, 12.5])
def test_spectrum_of_a_sinusoid_peaks_at_its_frequency(x64, f):
    dt = 0.01
    t = dt * jnp.arange(4000)
    x = jnp.sin(2 * jnp.pi * f * t + 0.3)
    freqs, power = power_spectrum(x, dt)
    assert abs(float(freqs[jnp.argmax(power)]) - f) <= float(freqs[1])
    assert abs(float(dominant_frequency(x, dt)) - f) < 0.1 * float(freqs[1])
    times, sfreqs, S = spectrogram(x, dt, window_length=512)
    peak = np.asarray(sfreqs)[np.argmax(np.asarray(S), axis=1)]
    assert np.all(np.abs(peak - f) <= float(sfreqs[1]))
    # differentiable: d(total power)/d(amplitude) by autodiff
    g = jax.grad(lambda a: jnp.sum(power_spectrum(a * x, dt)[1]))(1.0)
    np.testing.assert_allclose(g, 2 * jnp.sum(power), rtol=1e-10)


def test_linear_oscillator_frequency_is_omega_over_two_pi(x64):
    omega = 3.0
    W = jnp.array([[0.0, -omega], [omega, 0.0]])
    model = jaxrnn.CTRNN.from_arrays(W, decay=0.0, activation="identity", form="rate")
    dt = 0.01
    sol = jaxrnn.simulate(model, jnp.array([1.0, 0.0]), t1=200.0, dt=dt, solver="tsit5")
    f = float(dominant_frequency(sol.ys[:, 0], dt))
    assert abs(f - omega / (2 * np.pi)) < 1e-3


def test_fixed_points_of_a_linear_ctrnn(x64):
    W = jnp.array([[0.5, -1.0, 0.2], [1.0, -0.3, 0.0], [0.1, 0.4, -0.2]])
    b = jnp.array([0.3, -0.7, 1.1])
    model = jaxrnn.CTRNN.from_arrays(W, b, decay=1.0, activation="identity")
    exact = np.linalg.solve(np.eye(3) - np.asarray(W), np.asarray(b))  # (W − I) h + b = 0
    fp = find_fixed_points(model, jax.random.normal(jax.random.PRNGKey(0), (16, 3)) * 3)
    assert len(fp) == 1
    np.testing.assert_allclose(fp.points[0], exact, atol=1e-10)
    expected_stable = np.all(np.linalg.eigvals(np.asarray(W) - np.eye(3)).real < 0)
    assert bool(fp.stable[0]) == bool(expected_stable)


def test_fixed_points_of_the_bistable_tanh_unit(x64):
    model = jaxrnn.CTRNN.from_arrays(jnp.array([[2.0]]), activation="tanh")  # h' = -h + tanh(2h)
    fp = find_fixed_points(model, jnp.linspace(-3, 3, 31)[:, None])
    order = np.argsort(fp.points[:, 0])
    np.testing.assert_allclose(fp.points[order, 0], [-0.957504, 0.0, 0.957504], atol=1e-6)
    assert fp.stable[order].tolist() == [True, False, True]
    assert [fp.kinds[i] for i in order] == ["stable node", "unstable node", "stable node"]
    # ... and the same points through the operators: an Euler map, a rescaled flow
    for system in (jaxrnn.discretise(model, 0.1), jaxrnn.rescale(model, 3.0)):
        fp2 = find_fixed_points(system, jnp.linspace(-3, 3, 31)[:, None])
        np.testing.assert_allclose(np.sort(fp2.points[:, 0]), [-0.957504, 0.0, 0.957504],
                                   atol=1e-6)
        assert np.sort(fp2.points[:, 0]).size == 3


def test_euler_map_changes_stability_but_not_fixed_points(x64):
    """REFERENCE §1 stability remark, on the same objects as find_fixed_points."""
    W = jnp.array([[0.5, -2.0], [2.0, 0.5]])
    model = jaxrnn.CTRNN.from_arrays(W, activation="tanh")
    starts = 0.1 * jax.random.normal(jax.random.PRNGKey(1), (8, 2))
    flow = find_fixed_points(model, starts)
    small = find_fixed_points(jaxrnn.discretise(model, 0.1), starts)
    large = find_fixed_points(jaxrnn.discretise(model, 0.4), starts)
    for fp in (flow, small, large):
        np.testing.assert_allclose(fp.points, [[0.0, 0.0]], atol=1e-10)
    assert flow.kinds == ("stable spiral",) and small.kinds == ("stable spiral",)
    assert large.kinds == ("unstable spiral",)


def test_slow_points_on_request(x64):
    # h' = -h + tanh(2h + 0.56), just past the saddle-node at b ≈ 0.533: one fixed point,
    # plus the "ghost" of the vanished pair near h ≈ -0.72, where q is small but not 0.
    model = jaxrnn.CTRNN.from_arrays(jnp.array([[2.0]]), jnp.array([0.56]), activation="tanh")
    starts = jnp.linspace(-3, 3, 25)[:, None]
    fixed = find_fixed_points(model, starts)
    slow = find_fixed_points(model, starts, slow_points=True, slow_tol=1e-3)
    assert len(fixed) == 1 and fixed.points[0, 0] > 0 and not np.any(fixed.slow)
    ghosts = slow.points[slow.slow, 0]
    assert ghosts.size >= 1 and np.all(np.abs(ghosts + 0.72) < 0.05)
    assert np.all(slow.q[slow.slow] > 1e-6)

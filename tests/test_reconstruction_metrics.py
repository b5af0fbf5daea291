"""Reconstruction metrics (D_stsp, D_H, spectra, prediction error) and the bursting neuron."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.metrics import (
    hellinger_distance,
    prediction_error,
    spectrum_correlation,
    spectrum_error_split,
    state_space_divergence,
)
from jaxrnn.systems import BURSTING_INITIAL_STATE, BurstingNeuron, Lorenz63


@functools.lru_cache(maxsize=None)  # the same series in several tests: integrate once
def lorenz_data(n=4000, dt=0.02):
    sol = jaxrnn.simulate(Lorenz63(), jnp.array([1.0, 1.0, 1.0]), t1=n * dt, dt=dt,
                          solver="tsit5", rtol=1e-8, atol=1e-8, max_steps=100_000)
    x = np.asarray(sol.ys[500:])
    x = (x - x.mean(0)) / x.std(0)
    x.setflags(write=False)  # shared between tests
    return x


def test_state_space_divergence_is_zero_on_itself_and_grows_with_distortion(x64):
    x = lorenz_data()[::2]  # 1,751 states: the orderings hold, each GMM fit costs half
    assert abs(state_space_divergence(x, x)) < 1e-12
    assert abs(float(state_space_divergence(x, x, method="gmm"))) < 1e-12
    shifts = [0.1, 0.5, 1.0, 2.0]
    binned = [state_space_divergence(x, x + s) for s in shifts]
    gmm = [float(state_space_divergence(x, x + s, method="gmm", n_samples=1000)) for s in shifts]
    assert np.all(np.diff(binned) > 0) and binned[0] > 0
    assert np.all(np.diff(gmm) > 0) and gmm[0] > 0
    scaled = [state_space_divergence(x, x * s) for s in (1.1, 1.5, 3.0)]
    assert np.all(np.diff(scaled) > 0)
    # GMM and binned versions rank distortions of one kind the same way. (Across kinds
    # they may not: the binned KL saturates once the supports stop overlapping, e.g.
    # on all 3,501 states x + 0.3 vs x * 1.5 give 6.69 vs 6.49 binned but 0.055 vs 0.156 GMM.)
    for family in ([x + 3.0, x + 0.3, x + 1.5, x + 0.8], [x * 3.0, x * 1.2, x * 1.5]):
        order_b = np.argsort([state_space_divergence(x, v) for v in family])
        order_g = np.argsort([float(state_space_divergence(x, v, method="gmm")) for v in family])
        np.testing.assert_array_equal(order_b, order_g)


def test_gmm_divergence_is_differentiable_in_the_generated_series(x64):
    x = lorenz_data(1500)[:400]
    g = jax.grad(lambda y: state_space_divergence(x, y, method="gmm", n_samples=300))(
        jnp.asarray(x) + 0.5)
    assert g.shape == x.shape and np.all(np.isfinite(g)) and float(jnp.abs(g).sum()) > 0


def test_hellinger_distance_identical_and_disjoint_spectra(x64):
    n = np.arange(4096)  # bin-centred frequencies (82 and 1229 bins: ≈ 20 Hz and ≈ 300 Hz at
    a = np.sin(2 * np.pi * 82 * n / 4096)[:, None]  # dt = 1 ms), so no spectral leakage and
    b = np.sin(2 * np.pi * 1229 * n / 4096)[:, None]  # disjoint smoothed spectra
    assert float(hellinger_distance(a, a)) == 0.0  # exactly, also in float32
    assert float(hellinger_distance(a.astype(np.float32), a.astype(np.float32))) == 0.0
    assert abs(float(hellinger_distance(a, b, smoothing=2.0)) - 1.0) < 1e-6
    # a closed form: unsmoothed, a + b has half its power at each of the two bins and a all
    # of it at the first, so the Bhattacharyya coefficient is √(½ · 1) and D_H = √(1 − √½)
    d_h = float(hellinger_distance(a + b, a, smoothing=0.0))
    assert d_h == pytest.approx(np.sqrt(1 - np.sqrt(0.5)), abs=1e-9)
    assert float(spectrum_correlation(a, a)) > 1 - 1e-12
    low, high = spectrum_error_split(a, b, dt=0.001, cutoff=50.0, smoothing=2.0)
    assert float(low) > 0 and float(high) > 0
    low_same, high_same = spectrum_error_split(a, a, dt=0.001)
    assert float(low_same) == 0.0 and float(high_same) == 0.0
    x = lorenz_data()
    assert 0 < float(hellinger_distance(x, np.roll(x, 1, axis=1))) < 1


def test_bursting_neuron_bursts(x64):
    sol = jaxrnn.simulate(BurstingNeuron(), jnp.array(BURSTING_INITIAL_STATE), t1=1500.0,
                          dt=0.05, solver="tsit5", rtol=1e-8, atol=1e-8, max_steps=200_000)
    V, t = np.asarray(sol.ys[:, 0]), np.asarray(sol.ts)
    spikes = t[np.flatnonzero((V[1:] > -25) & (V[:-1] <= -25))]
    bursts = np.split(spikes, np.flatnonzero(np.diff(spikes) > 20) + 1)[1:]  # drop the transient
    assert len(bursts) >= 8
    assert all(14 <= len(b) <= 16 for b in bursts), [len(b) for b in bursts]  # spikes per burst
    period = np.diff([b[0] for b in bursts])
    assert np.all(np.abs(period - 148.1) < 2.0)  # slow oscillation, ms
    isi = np.concatenate([np.diff(b) for b in bursts])
    assert np.all(isi < 10)  # fast spiking within a burst
    assert V.min() > -75 and V.max() < 0


def test_prediction_error_is_zero_for_the_generating_model(x64):
    A, W = jnp.array([0.9, 0.8, 0.7]), jnp.array([[0, 0.2, -0.1], [0.3, 0, 0.1], [-0.2, 0.1, 0]])
    model = jaxrnn.PLRNN.from_arrays(A, W, jnp.array([0.1, -0.2, 0.3]), B=jnp.eye(3))
    z = jaxrnn.simulate(model, jnp.array([1.0, -1.0, 0.5]), 100).ys
    x = jax.vmap(model.observe)(z)
    assert float(prediction_error(model, x, 5)) < 1e-24
    other = jaxrnn.PLRNN.from_arrays(A * 0.9, W, jnp.array([0.1, -0.2, 0.3]), B=jnp.eye(3))
    assert float(prediction_error(other, x, 5)) > 1e-4


def test_named_datasets_and_their_statistics(x64):
    from jaxrnn.analysis import lyapunov_spectrum
    from jaxrnn.systems import dataset, make_dataset

    neuron = dataset("bursting_neuron")
    assert neuron.series.shape == (3, 1501, 3) and neuron.dt == 0.5 and neuron.n_train == 3
    flat = neuron.series.reshape(-1, 3)
    np.testing.assert_allclose(flat.mean(0), 0, atol=1e-10)
    np.testing.assert_allclose(flat.std(0), 1, atol=1e-10)
    lorenz = dataset("lorenz63", n_samples=500)
    assert lorenz.train.shape == (3, 500, 3) and lorenz.test.shape == (1, 500, 3)
    # consecutive windows: the series continue one another (on the attractor)
    raw = lorenz.series * lorenz.std + lorenz.mean
    step = np.linalg.norm(raw[0, -1] - raw[1, 0])
    assert step < 5 * np.median(np.linalg.norm(np.diff(raw[0], axis=0), axis=1))
    noisy = dataset("lorenz63", n_samples=500, noise_std=0.1)
    assert abs(np.std(noisy.series - lorenz.series) - 0.1) < 0.01
    # simulated once per setting and shared, so read-only; an array override is not cached
    assert dataset("lorenz63", n_samples=500) is lorenz and not lorenz.series.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        lorenz.series[0, 0, 0] = 1.0
    again = dataset("lorenz63", n_samples=500, y0=np.array([1.0, 1.0, 1.0]))
    assert again is not lorenz
    np.testing.assert_array_equal(again.series, lorenz.series)  # (1, 1, 1) is the named y0
    # the data's system has the right largest Lyapunov exponent (analysis issue's code)
    spec = lyapunov_spectrum(Lorenz63(), jnp.asarray(raw[0, 0]), 50_000, dt=0.01,
                             renorm_every=10)
    assert abs(float(spec[0]) - 0.906) < 0.05
    henon = make_dataset(jaxrnn.systems.Henon(), (0.1, 0.1), n_series=2, n_samples=100,
                         transient=100)
    assert henon.series.shape == (2, 100, 2)

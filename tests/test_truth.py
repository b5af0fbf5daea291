"""Public pieces against independent references: closed forms, convergence orders,
textbook equations written out in NumPy, SciPy's integrators."""

import gzip
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.special
import scipy.stats

import jaxrnn
from jaxrnn.models import LSTM, CategoricalObservation, GaussianObservation, ReLURNN


# ---------------------------------------------------------------- integrators
def _linear_flow(seed=0, n=4):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n)) / np.sqrt(n) - 1.0 * np.eye(n)
    return jaxrnn.LinearFlow(jnp.asarray(A)), A, rng.normal(size=n)


@pytest.mark.parametrize("method, order", [("euler", 1), ("rk4", 4)])
def test_discretised_maps_converge_at_their_order_against_expm(x64, method, order):
    flow, A, y0 = _linear_flow()
    T = 1.0
    exact = scipy.linalg.expm(A * T) @ y0
    errors = []
    for n in (16, 32, 64, 128):
        step = jaxrnn.discretise(flow, T / n, method=method)
        y = jaxrnn.simulate(step, jnp.asarray(y0), n_steps=n, divergence_threshold=None).ys[-1]
        errors.append(np.linalg.norm(np.asarray(y) - exact))
    slopes = -np.diff(np.log2(errors))
    np.testing.assert_allclose(slopes, order, atol=0.15)


# ---------------------------------------------------------------- penalty
@pytest.mark.parametrize("m", [0, 1, 3, 5])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_masked_penalty_is_eq4_by_hand_and_the_unmasked_path(x64, m, reduction):
    rng = np.random.default_rng(m)
    M = 5
    A, W, h = rng.normal(size=M), rng.normal(size=(M, M)), rng.normal(size=M)
    np.fill_diagonal(W, 0.0)
    tA, tW, th = 2.0, 3.0, 0.5
    model = jaxrnn.PLRNN.from_arrays(A, W, h, n_regularised=m)
    a = sum((A[i] - 1) ** 2 for i in range(m))
    w = sum(W[i, j] ** 2 for i in range(m) for j in range(M))
    hh = sum(h[i] ** 2 for i in range(m))
    if reduction == "mean" and m:
        a, w, hh = a / m, w / (m * M), hh / m
    by_hand = tA * a + tW * w + th * hh
    masked = jaxrnn.line_attractor_penalty(model, tA, tW, th, reduction=reduction,
                                           n_regularised=jnp.asarray(m))
    unmasked = jaxrnn.line_attractor_penalty(model, tA, tW, th, reduction=reduction)
    np.testing.assert_allclose(masked, by_hand, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(unmasked, by_hand, rtol=1e-12, atol=1e-15)
    jitted = jax.jit(lambda k: jaxrnn.line_attractor_penalty(
        model, tA, tW, th, reduction=reduction, n_regularised=k))
    np.testing.assert_allclose(jitted(m), by_hand, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- observations
def test_gaussian_and_categorical_log_likelihoods_are_the_closed_forms(x64):
    rng = np.random.default_rng(1)
    B, z, x = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    for link, g in [("identity", z), ("relu", np.maximum(z, 0))]:
        obs = GaussianObservation(jnp.asarray(B), link=link, noise_var=0.7)
        want = scipy.stats.norm.logpdf(x, loc=B @ g, scale=np.sqrt(0.7)).sum()
        np.testing.assert_allclose(obs.log_likelihood(jnp.asarray(z), jnp.asarray(x)), want,
                                   rtol=1e-12)
    cat = CategoricalObservation(jnp.asarray(B))
    for label in range(3):
        want = scipy.special.log_softmax(B @ z)[label]
        np.testing.assert_allclose(cat.log_likelihood(jnp.asarray(z), label), want, rtol=1e-12)


def _write_idx(path, array):
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))


def tiny_mnist(directory, n_train=32, n_test=6, seed=0):
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("t10k", n_test)):
        _write_idx(directory / f"{split}-images-idx3-ubyte.gz",
                   rng.integers(0, 256, (n, 28, 28)))
        _write_idx(directory / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    return directory


def test_mnist_cross_entropy_and_accuracy_of_a_hand_built_model(tmp_path, x64):
    """An integrator of the normalised pixels with logits k·z: cross-entropy and accuracy
    through the trainer's evaluation equal NumPy on the raw IDX bytes."""
    from jaxrnn.tasks import read_idx
    from jaxrnn.training import Trainer, config_from_dict

    tiny_mnist(tmp_path)
    config = config_from_dict({
        "task": {"name": "mnist", "n_train": 32, "n_test": 6, "data_dir": str(tmp_path)},
        "model": {"name": "plrnn", "hidden_size": 1, "learn_z0": False},
        "train": {"batch_size": 8, "epochs": 1, "eval_batch_size": 4, "dtype": "float64"}})
    trainer = Trainer(config)
    k = np.linspace(-1, 1, 10)[:, None] * 1e-3
    model = jaxrnn.PLRNN.from_arrays(A=[1.0], W=[[0.0]], h=[0.0], C=[[1.0]], B=k,
                                     observation="categorical")
    params, _ = eqx.partition(model, eqx.is_inexact_array)
    metrics = trainer.evaluate(jax.tree_util.tree_map(lambda x: x[None], params))[0]
    images = read_idx(tmp_path / "t10k-images-idx3-ubyte.gz").reshape(6, -1) / 255.0
    labels = read_idx(tmp_path / "t10k-labels-idx1-ubyte.gz")
    z = ((images - 0.1307) / 0.3081).sum(axis=1)
    logits = k[:, 0][None, :] * z[:, None]
    ce = -scipy.special.log_softmax(logits, axis=1)[np.arange(6), labels].mean()
    acc = np.mean(np.argmax(logits, axis=1) == labels)
    np.testing.assert_allclose(metrics["test_loss"], ce, rtol=1e-6)  # pixels normalised in float32
    assert metrics["test_frac_correct"] == acc


# ---------------------------------------------------------------- baselines
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_lstm_step_is_the_textbook_cell_with_forget_bias_one(x64):
    H, K = 3, 2
    lstm = LSTM(H, K, 1, key=jax.random.PRNGKey(0))
    Wx, Wh, b = (np.asarray(v) for v in (lstm.W_x, lstm.W_h, lstm.bias))
    np.testing.assert_array_equal(b[H:2 * H], 1.0)  # forget-gate bias 1
    rng = np.random.default_rng(0)
    h, c, x = rng.normal(size=H), rng.normal(size=H), rng.normal(size=K)
    gates = Wx @ x + Wh @ h + b
    i, f, g, o = (gates[j * H:(j + 1) * H] for j in range(4))
    c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    h_new = _sigmoid(o) * np.tanh(c_new)
    got = np.asarray(lstm.step(jnp.concatenate([h, c]), jnp.asarray(x)))
    np.testing.assert_allclose(got, np.concatenate([h_new, c_new]), rtol=1e-12)
    np.testing.assert_allclose(lstm.observe(jnp.asarray(got)),
                               np.asarray(lstm.V) @ h_new + np.asarray(lstm.c), rtol=1e-12)


@pytest.mark.parametrize("init", ["random", "identity", "np"])
def test_relu_rnn_step_and_initial_recurrence(x64, init):
    M, K = 5, 2
    rnn = ReLURNN(M, K, 1, init=init, key=jax.random.PRNGKey(1))
    W, U, b = (np.asarray(v) for v in (rnn.W, rnn.U, rnn.b))
    rng = np.random.default_rng(1)
    h, x = rng.normal(size=M), rng.normal(size=K)
    np.testing.assert_allclose(rnn.step(jnp.asarray(h), jnp.asarray(x)),
                               np.maximum(W @ h + U @ x + b, 0), rtol=1e-12)
    if init == "identity":
        np.testing.assert_array_equal(W, np.eye(M))
        np.testing.assert_array_equal(b, 0)
    elif init == "np":  # (RᵀR/M + I) / λ_max: symmetric positive definite, λ_max = 1
        np.testing.assert_allclose(W, W.T, atol=1e-12)
        lam = np.linalg.eigvalsh(W)
        assert lam.min() > 0 and abs(lam.max() - 1) < 1e-12
        np.testing.assert_array_equal(b, 0)


# ---------------------------------------------------------------- bursting neuron
def _bursting_numpy(t, y):
    """REFERENCE §3 written out independently (ms, mV, mS, µF)."""
    V, n, h = y
    inf = lambda Vh, k: 1 / (1 + np.exp((Vh - V) / k))  # noqa: E731
    sigma = 1 / (1 + 0.33 * np.exp(-0.0625 * V))
    dV = (-8 * (V + 80) - 20 * inf(-20, 15) * (V - 60) - 10 * n * (V + 90)
          - 25 * h * (V + 90) - 10.2 * sigma * V) / 6
    return [dV, (inf(-25, 5) - n) / 1.0, (inf(-15, 5) - h) / 200.0]


def test_bursting_neuron_vector_field_and_period_against_scipy(x64):
    from jaxrnn.systems import BURSTING_INITIAL_STATE, BurstingNeuron

    neuron = BurstingNeuron()
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = np.array([rng.uniform(-80, 20), rng.uniform(0, 1), rng.uniform(0, 0.1)])
        np.testing.assert_allclose(neuron.vector_field(0.0, jnp.asarray(y), jnp.zeros(0)),
                                   _bursting_numpy(0.0, y), rtol=1e-12, atol=1e-12)
    # the slow gate's period: SciPy's LSODA against jaxrnn's Tsit5, both at tight tolerance
    t_end, dt = 1500.0, 0.5
    ref = scipy.integrate.solve_ivp(_bursting_numpy, (0, t_end), BURSTING_INITIAL_STATE,
                                    method="LSODA", rtol=1e-9, atol=1e-9,
                                    t_eval=np.arange(0, t_end + dt / 2, dt))
    ours = jaxrnn.simulate(neuron, jnp.asarray(BURSTING_INITIAL_STATE), n_steps=int(t_end / dt),
                           dt=dt, solver="tsit5", rtol=1e-9, atol=1e-9, max_steps=200_000).ys

    def period(h):  # mean spacing of upward crossings of the slow gate's mean
        h = np.asarray(h)[len(h) // 5:]
        up = np.flatnonzero((h[:-1] < h.mean()) & (h[1:] >= h.mean()))
        return np.mean(np.diff(up)) * dt

    p_ref, p_ours = period(ref.y[2]), period(np.asarray(ours)[:, 2])
    assert 20 < p_ref < 1000
    np.testing.assert_allclose(p_ours, p_ref, rtol=0.02)


# ---------------------------------------------------------------- other systems
def test_rossler_and_van_der_pol_are_their_equations(x64):
    from jaxrnn import systems

    rng = np.random.default_rng(2)
    ross = systems.Rossler()
    vdp = systems.VanDerPol()
    for _ in range(5):
        y = rng.normal(size=3)
        a, b, c = float(ross.a), float(ross.b), float(ross.c)
        np.testing.assert_allclose(ross.vector_field(0.0, jnp.asarray(y), jnp.zeros(0)),
                                   [-y[1] - y[2], y[0] + a * y[1], b + y[2] * (y[0] - c)],
                                   rtol=1e-12)
        x, v = rng.normal(size=2)
        mu = float(vdp.mu)
        np.testing.assert_allclose(vdp.vector_field(0.0, jnp.asarray([x, v]), jnp.zeros(0)),
                                   [v, mu * (1 - x ** 2) * v - x], rtol=1e-12)


# ---------------------------------------------------------------- to_continuous
def test_to_continuous_on_several_regions_including_negative_orthants(x64):
    """Each region's flow, integrated over Δt, equals that region's affine map — checked in
    every orthant of a 2-D PLRNN whose region matrices all have positive eigenvalues."""
    A = np.array([0.7, 0.8])
    W = np.array([[0.0, 0.15], [-0.1, 0.0]])
    h = np.array([0.05, -0.02])
    C = np.array([[0.3], [-0.2]])
    model = jaxrnn.PLRNN.from_arrays(A, W, h, C)
    dt = 0.3
    flow = jaxrnn.to_continuous(model, dt)
    s = np.array([0.5])
    for d in ([0, 0], [1, 0], [0, 1], [1, 1]):
        M_r = np.diag(A) + W * np.array(d)[None, :]
        z0 = np.where(np.array(d) > 0, 40.0, -40.0)  # deep inside the region
        J = scipy.linalg.logm(M_r).real / dt  # the region's W̃ (Suppl. 7.1.2)
        f = lambda z: flow.vector_field(0.0, z, jnp.asarray(s))  # noqa: E731
        np.testing.assert_allclose(jax.jacfwd(f)(jnp.asarray(z0)), J, rtol=1e-9, atol=1e-12)
        sol = jaxrnn.simulate(flow, jnp.asarray(z0), n_steps=1, dt=dt, solver="tsit5",
                              inputs=jnp.asarray(s)[None], rtol=1e-12, atol=1e-12)
        assert np.all(np.sign(np.asarray(sol.ys)) == np.sign(z0))  # stayed in the region
        np.testing.assert_allclose(sol.ys[-1], M_r @ z0 + C @ s + h, rtol=1e-7)


def test_to_continuous_refuses_under_jit():
    bad = jaxrnn.PLRNN.from_arrays(jnp.array([-0.5, 0.5]), jnp.zeros((2, 2)), jnp.zeros(2))
    fn = jax.jit(lambda m: jaxrnn.to_continuous(m, 0.1).W_tilde)
    with pytest.raises(Exception, match="zero or negative real eigenvalue"):
        jax.block_until_ready(fn(bad))
    good = jaxrnn.PLRNN.from_arrays(jnp.array([0.5, 0.6]), jnp.zeros((2, 2)), jnp.zeros(2))
    assert np.all(np.isfinite(np.asarray(fn(good))))


# ---------------------------------------------------------------- tasks and optimiser
def test_marker_positions_follow_the_protocol():
    from jaxrnn.tasks import marker_positions

    for T in (20, 21, 100, 401):
        t1, t2 = (np.asarray(v) for v in marker_positions(jax.random.PRNGKey(T), 2000, T))
        assert t1.min() >= 0 and t1.max() < 10
        assert t2.max() < T / 2 and np.all(t1 != t2)
        assert len(np.unique(t1)) == 10  # every allowed first position occurs


@pytest.mark.parametrize("schedule", ["constant", "cosine", "exponential", "warmup_cosine"])
def test_make_optimizer_schedules_and_clipping_against_closed_forms(x64, schedule):
    """SGD on f(p) = ½|p|² with gradient p: each update is −lr(t)·clip(p)."""
    from jaxrnn.training import make_optimizer
    from jaxrnn.training._config import TrainConfig

    total, lr, clip = 20, 0.1, 0.5
    tr = TrainConfig(optimizer="sgd", learning_rate=lr, schedule=schedule, clip_norm=clip,
                     warmup_steps=5, decay_rate=0.1)
    opt = make_optimizer(tr, total)
    p = jnp.array([3.0, 4.0])
    state = opt.init(p)
    for t in range(total):
        g = p
        updates, state = opt.update(g, state, p)
        norm = float(jnp.linalg.norm(g))
        clipped = np.asarray(g) * min(1.0, clip / norm)
        w = 5  # linear warm-up from 0 over warmup_steps, then the schedule from its start
        u = t - w
        if t < w:
            factor = t / w
        elif schedule == "constant":
            factor = 1.0
        elif schedule == "cosine":
            factor = 0.5 * (1 + math.cos(math.pi * u / total))
        elif schedule == "exponential":
            factor = 0.1 ** (u / total)
        else:  # warmup_cosine: the cosine spans the steps after the warm-up
            factor = 0.5 * (1 + math.cos(math.pi * u / (total - w)))
        # optax evaluates schedules in float32: rtol 1e-6
        np.testing.assert_allclose(updates, -lr * factor * clipped, rtol=1e-6, atol=1e-12)
        p = p + updates


# ---------------------------------------------------------------- metrics
def test_binned_state_space_divergence_is_the_kl_of_laplace_smoothed_histograms(x64):
    """Closed form on a 1-D case with known bin counts: 2 bins over the true range."""
    from jaxrnn.metrics import state_space_divergence

    x_true = np.array([[0.0], [0.1], [0.2], [1.0]])  # bins [0, .5), [.5, 1]: counts 3, 1
    x_gen = np.array([[0.9], [0.8], [0.05], [5.0]])  # counts 1, 2 (5.0 is outside: dropped)
    a = 0.5
    p = (np.array([3, 1]) + a) / (4 + 2 * a)
    q = (np.array([1, 2]) + a) / (4 + 2 * a)
    want = np.sum(p * np.log(p / q))
    got = state_space_divergence(x_true, x_gen, n_bins=2, alpha=a)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert state_space_divergence(x_true, x_true, n_bins=2, alpha=a) == 0.0


def test_gmm_state_space_divergence_against_two_gaussians_in_closed_form(x64):
    """Point clouds of two Gaussians, each mixture ≈ N(μ, Σ + σ²I): the Monte-Carlo KL
    approaches the closed-form KL of those two Gaussians."""
    from jaxrnn.metrics import state_space_divergence

    rng = np.random.default_rng(0)
    d, n, s2 = 2, 4000, 0.05
    x_true = rng.normal(0.0, 1.0, (n, d))
    x_gen = rng.normal(0.7, 1.0, (n, d))
    got = float(state_space_divergence(x_true, x_gen, method="gmm", sigma2=s2, n_samples=4000,
                                       key=jax.random.PRNGKey(1)))
    var = 1.0 + s2
    want = 0.5 * d * 0.7 ** 2 / var  # KL(N(0, vI) ‖ N(m, vI)) = |m|² / (2v)
    np.testing.assert_allclose(got, want, rtol=0.15)


def test_normalised_spectrum_of_a_sinusoid_peaks_at_its_frequency_and_sums_to_one(x64):
    from jaxrnn.metrics import normalised_spectrum

    T = 1024
    t = np.arange(T)
    x = np.stack([np.sin(2 * np.pi * 37 * t / T), 3 + 5 * np.cos(2 * np.pi * 100 * t / T)], 1)
    p = np.asarray(normalised_spectrum(x, smoothing=0.0))
    np.testing.assert_allclose(p.sum(axis=0), 1.0, rtol=1e-9)
    assert p.shape == (T // 2 + 1, 2)
    assert np.argmax(p[:, 0]) == 37 and np.argmax(p[:, 1]) == 100
    np.testing.assert_allclose(p[37, 0], 1.0, atol=1e-9)  # a pure tone: all power in one bin
    smooth = np.asarray(normalised_spectrum(x, smoothing=5.0))
    np.testing.assert_allclose(smooth.sum(axis=0), 1.0, rtol=1e-9)
    kernel = np.exp(-0.5 * (np.arange(-20, 21) / 5.0) ** 2)
    kernel /= kernel.sum()
    np.testing.assert_allclose(smooth[37 - 20:37 + 21, 0], kernel, atol=1e-9)  # the kernel itself

"""The parallel-in-time PLRNN (exact Newton/DEER pattern iteration): the same trajectory
as the sequential scan, iteration counts within the derived bound, flagged when capped,
and gradients equal to the sequential reverse pass and to finite differences."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jaxrnn
from jaxrnn.models import newton_iteration_bound, parallel_plrnn_rollout, plrnn_rollout
from jaxrnn.models.plrnn import chaotic_plrnn
from jaxrnn.models.plrnn._rollout import _forward
from jaxrnn.training import ConfigError, Trainer, config_from_dict, teacher_forced_loss
from jaxrnn.training._parallel_forcing import parallel_teacher_forced_losses

ROOT = pathlib.Path(__file__).resolve().parents[1]
B = 3


def _regime(kind, seed, T):
    """(A, W, h, C, z0, s) of a stable PLRNN with inputs, the chaotic example started on
    its attractor, or an rPLRNN at the authors' initialisation with addition-like inputs."""
    rng = np.random.default_rng(seed)
    if kind == "chaotic":
        m = chaotic_plrnn()
        z0 = np.asarray(jaxrnn.simulate(m, jnp.array([0.1, 0.1]), 200).ys[-1])
        z0 = z0 + 0.01 * rng.normal(size=(B, 2))
        return m.A, m.W, m.h, jnp.zeros((2, 1)), jnp.asarray(z0), jnp.zeros((T, B, 1))
    if kind == "rplrnn":
        m = jaxrnn.PLRNN(6, 2, n_regularised=3, key=jax.random.PRNGKey(seed))
        s = np.stack([rng.uniform(size=(T, B)), rng.uniform(size=(T, B)) < 0.1], -1)
        return m.A, m.W, m.h, m.C, jnp.zeros((B, 6)), jnp.asarray(s, float)
    M = 4
    A = rng.uniform(0.3, 0.9, M)
    W = 0.4 * rng.normal(size=(M, M)) * (1 - np.eye(M))
    h, C = 0.3 * rng.normal(size=M), rng.normal(size=(M, 2))
    return tuple(map(jnp.asarray, (A, W, h, C, rng.normal(size=(B, M)),
                                   rng.normal(size=(T, B, 2)))))


def _close(a, b, rtol=1e-12):
    a, b = np.asarray(a), np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(initial=0.0))


@given(st.sampled_from(["stable", "chaotic", "rplrnn"]), st.sampled_from([1, 12, 40]),
       st.integers(0, 10_000))
def test_parallel_rollout_is_the_sequential_trajectory(x64, kind, T, seed):
    args = _regime(kind, seed, T)
    out, seq, last_par, last_seq = _both(*args)
    assert bool(out.converged.all()) and not bool(out.diverged.any())
    assert int(out.iterations.max()) <= T  # the bound of the construction
    _close(out.states, seq, 1e-12 if kind != "chaotic" or T < 40 else 1e-9)
    _close(last_par, last_seq)


@jax.jit  # one program per shape (eager, every small operation compiles on its own)
def _both(*args):
    return (parallel_plrnn_rollout(*args), _forward(*args),
            plrnn_rollout(*args, method="parallel"), plrnn_rollout(*args))


def test_a_trained_benchmark_model(x64):
    run = ROOT / "experiments/fig2/populations/authors/addition_plrnn_T40/members/seed0"
    if not run.is_dir():
        pytest.skip("the committed addition T = 40 run is not in this checkout")
    m = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64) if eqx_float(a) else a,
                               jaxrnn.training.load_model(run))
    rng = np.random.default_rng(0)
    s = jnp.asarray(np.stack([rng.uniform(size=(40, 16)), rng.uniform(size=(40, 16)) < 0.05], -1))
    z0 = jnp.broadcast_to(m.initial_state(jnp.float64), (16, m.state_size))
    out, seq, _, _ = _both(m.A, m.W, m.h, m.C, z0, s)
    assert bool(out.converged.all())
    _close(out.states, seq)


def eqx_float(a):
    return isinstance(a, jax.Array) and jnp.issubdtype(a.dtype, jnp.floating)


def test_contracting_plrnn_converges_within_the_derived_bound(x64):
    rng = np.random.default_rng(1)
    M, T = 4, 300
    A = jnp.asarray(rng.uniform(0.1, 0.4, M))
    W = jnp.asarray(0.12 * rng.normal(size=(M, M)) * (1 - np.eye(M)))
    h, C = jnp.asarray(rng.normal(size=M)), jnp.asarray(rng.normal(size=(M, 1)))
    z0, s = jnp.asarray(rng.normal(size=(B, M))), jnp.asarray(rng.normal(size=(T, B, 1)))
    truth = np.asarray(_forward(A, W, h, C, z0, s))
    margin = float(np.abs(truth).min())
    start = float(np.linalg.norm(truth, axis=-1).max())  # the zero guess's error
    bound = newton_iteration_bound(A, W, margin, start)
    assert bound is not None and bound < T // 10  # logarithmic, not T
    out = parallel_plrnn_rollout(A, W, h, C, z0, s)
    assert bool(out.converged.all()) and int(out.iterations.max()) <= bound
    # a guess within the margin is exact after one solve
    near = parallel_plrnn_rollout(A, W, h, C, z0, s, guess=jnp.asarray(truth) * (1 + 1e-3))
    assert newton_iteration_bound(A, W, margin, 1e-3 * start) is not None
    assert np.all(np.asarray(near.iterations) <= 2)


def test_a_chaotic_free_run_reaches_the_cap_and_says_so(x64):
    T, cap = 400, 6
    args = _regime("chaotic", 0, T)
    out = parallel_plrnn_rollout(*args, max_iterations=cap)
    assert not bool(out.converged.any()) and np.all(np.asarray(out.iterations) == cap)
    # iteration k makes z_1..z_k exact: the first `cap` states are right, not the rest
    seq = np.asarray(_forward(*args))
    _close(out.states[:cap], seq[:cap])
    assert np.abs(np.asarray(out.states) - seq).max() > 1e-3
    with pytest.raises(ValueError, match="max_iterations"):
        parallel_plrnn_rollout(*args, max_iterations=0)


@pytest.mark.parametrize("kind", ["stable", "rplrnn"])
def test_gradients_equal_the_sequential_reverse_pass_and_finite_differences(x64, kind):
    args = _regime(kind, 3, 25)
    weights = jnp.asarray(np.random.default_rng(4).normal(size=(25, B, args[0].shape[0])))
    states = lambda *a: parallel_plrnn_rollout(*a).states  # noqa: E731

    def loss(fn):
        return lambda *a: jnp.sum(jnp.sin(fn(*a)) * weights)

    @jax.jit  # one program (eager dispatch of these gradients costs seconds)
    def gradients(*a):
        last = lambda method: lambda *b: jnp.sum(plrnn_rollout(*b, method=method) ** 2)  # noqa: E731
        return [jax.grad(f, argnums=range(6))(*a)
                for f in (loss(states), loss(_forward), last("parallel"), last("sequential"))]

    par, seq, par_last, seq_last = gradients(*args)
    for p, q in zip(par + par_last, seq + seq_last):
        _close(p, q, 1e-10)
    # central differences along a random direction of (A, W, h)
    rng = np.random.default_rng(5)
    d = [jnp.asarray(rng.normal(size=a.shape)) for a in args[:3]]
    f = jax.jit(lambda e: loss(states)(*[a + e * v for a, v in zip(args[:3], d)], *args[3:]))
    eps = 1e-6
    fd = (f(eps) - f(-eps)) / (2 * eps)
    assert float(sum(jnp.vdot(g, v) for g, v in zip(par[:3], d))) == pytest.approx(
        float(fd), rel=1e-6)


@pytest.mark.parametrize("alpha,interval", [(0.3, 1), (1.0, 5)])
def test_teacher_forcing_in_parallel_equals_the_sequential_forced_loss(x64, alpha, interval):
    """Generalised (α < 1 every step) and sparse (α = 1 every 5th step) teacher forcing of
    the chaotic PLRNN observed through a random B, on noisy windows of its own free run."""
    m0 = chaotic_plrnn()
    rng = np.random.default_rng(6)
    Bobs = rng.normal(size=(3, 2))
    model = jaxrnn.PLRNN.from_arrays(m0.A, m0.W, m0.h, B=Bobs)
    zs = np.asarray(jaxrnn.simulate(m0, jnp.array([0.1, 0.1]), 260).ys[60:])
    x = jnp.asarray((zs @ Bobs.T + 0.05 * rng.normal(size=(201, 3)))[:200].reshape(4, 50, 3))
    sequential = jax.vmap(teacher_forced_loss, (None, 0, None, None))

    @jax.jit  # one program: eager op-by-op dispatch of the two gradients costs seconds
    def both(mm):
        def summed(losses):
            return lambda m: (jnp.sum(v := losses(m, x, alpha, interval)), v)

        gs, seq = jax.grad(summed(sequential), has_aux=True)(mm)
        gp, par = jax.grad(summed(parallel_teacher_forced_losses), has_aux=True)(mm)
        return seq, par, gs, gp

    seq, par, gs, gp = both(model)  # per-window losses and the gradients of their sum
    _close(par, seq, 1e-11)
    for p, q in zip(jax.tree_util.tree_leaves(gp), jax.tree_util.tree_leaves(gs)):
        _close(p, q, 1e-9)


@pytest.mark.parametrize("task", ["addition", "reconstruction"])
def test_model_rollout_parallel_trains_the_same_parameters(x64, task):
    raw = {"name": "p", "seed": 0, "task": {"name": task, "T": 20, "n_train": 64, "n_test": 32},
           "model": {"name": "rplrnn", "hidden_size": 6},
           "train": {"batch_size": 32, "epochs": 1, "dtype": "float64", "eval_batch_size": 32}}
    if task == "reconstruction":
        raw["task"].update(dataset="van_der_pol", n_samples=200, eval_steps=50)
        raw["forcing"] = {"alpha": 0.2, "interval": 1}
    params = []
    for rollout in ("sequential", "parallel"):
        raw["model"]["rollout"] = rollout
        trainer = Trainer(config_from_dict(raw))
        state, losses, _ = trainer.run_epoch(trainer.init_state())
        params.append((jax.tree_util.tree_leaves(state.params), np.asarray(losses)))
    (p_seq, l_seq), (p_par, l_par) = params
    _close(l_par, l_seq, 1e-10)
    for a, b in zip(p_par, p_seq):
        _close(a, b, 1e-9)
    if task == "addition":  # a baseline has no parallel evaluation: refused by name
        raw["model"].update(name="lstm")
        with pytest.raises(ConfigError, match="model.rollout.*PLRNN family"):
            config_from_dict(raw)
    raw["model"].update(rollout="fast")
    with pytest.raises(ConfigError, match="model.rollout.*sequential, parallel"):
        config_from_dict(raw)


def test_simulate_a_plrnn_map_in_parallel(x64):
    m = jaxrnn.PLRNN(5, 2, n_regularised=2, key=jax.random.PRNGKey(7))
    s = jnp.asarray(np.random.default_rng(8).normal(size=(30, 2)))
    y0 = jnp.asarray(np.random.default_rng(9).normal(size=5))
    seq, par = (jaxrnn.simulate(m, y0, inputs=s, solver=v) for v in ("euler", "parallel"))
    _close(par.ys, seq.ys)
    assert not bool(par.diverged)
    _close(jaxrnn.simulate(m, y0, inputs=s, solver="parallel", saveat="t1").ys, seq.ys[-1:])
    # past the threshold: NaN from that state on, flagged, as the scan does
    big = jaxrnn.PLRNN.from_arrays(jnp.full(2, 1.5), jnp.zeros((2, 2)), jnp.ones(2))
    a, b = (jaxrnn.simulate(big, jnp.ones(2), 40, solver=v, divergence_threshold=1e3)
            for v in ("euler", "parallel"))
    assert bool(a.diverged) and bool(b.diverged)
    np.testing.assert_array_equal(np.isnan(a.ys), np.isnan(b.ys))
    with pytest.raises(TypeError, match="PLRNN maps"):
        jaxrnn.simulate(jaxrnn.systems.Henon(), jnp.zeros(2), 5, solver="parallel")

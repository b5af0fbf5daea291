"""The hand-written reverse pass of the batched PLRNN rollout equals autodiff."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxrnn
from jaxrnn.models.plrnn import _rollout
from jaxrnn.models.plrnn._rollout import _forward, plrnn_rollout


def _args(seed, M=5, K=2, B=3, T=17):
    ks = jax.random.split(jax.random.PRNGKey(seed), 6)
    A = jax.random.uniform(ks[0], (M,), minval=0.3, maxval=1.0)
    W = jax.random.normal(ks[1], (M, M)) * 0.4 * (1 - jnp.eye(M))
    h = jax.random.normal(ks[2], (M,)) * 0.3
    C = jax.random.normal(ks[3], (M, K))
    z0 = jax.random.normal(ks[4], (B, M))
    s = jax.random.normal(ks[5], (T, B, K))
    return A, W, h, C, z0, s


@pytest.mark.parametrize("columns", [False, True])  # both layouts (chosen by batch size)
@pytest.mark.parametrize("K", [2, 6])  # the broadcast path (K <= 4) and the matmul path
def test_final_state_is_the_plain_scans_in_either_layout(x64, K, columns):
    args = _args(K, K=K, B=4)
    threshold = _rollout._COLUMNS_FROM_BATCH
    _rollout._COLUMNS_FROM_BATCH = 1 if columns else 10**9  # read when traced
    try:
        ours = jax.jit(plrnn_rollout)(*args)
    finally:
        _rollout._COLUMNS_FROM_BATCH = threshold
    np.testing.assert_allclose(ours, _forward(*args)[-1], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("columns", [False, True])  # both layouts (chosen by batch size)
@pytest.mark.parametrize("K", [2, 6])  # the broadcast path (K <= 4) and the matmul path
@settings(deadline=None, max_examples=10)
@given(st.integers(0, 10_000))
def test_gradients_equal_autodiff_of_the_plain_scan(x64, K, columns, seed):
    threshold = _rollout._COLUMNS_FROM_BATCH
    _rollout._COLUMNS_FROM_BATCH = 1 if columns else 10**9  # read when the pass is traced
    try:
        _check_gradients(seed, K)
    finally:
        _rollout._COLUMNS_FROM_BATCH = threshold


def _loss(f):
    return lambda weights, *a: jnp.sum(jnp.sin(f(*a)) * weights)


# Compiled once per (pass, K) and reused over the examples: the reverse pass is chosen
# when the function is traced, so each setting of the threshold has its own jitted function
_OURS = {columns: jax.jit(jax.grad(_loss(plrnn_rollout), argnums=range(1, 7)))
         for columns in (False, True)}
_AUTODIFF = jax.jit(jax.grad(_loss(lambda *a: _forward(*a)[-1]), argnums=range(1, 7)))


def _check_gradients(seed, K):
    args = _args(seed, K=K)
    weights = jax.random.normal(jax.random.PRNGKey(seed + 1), (3, 5))
    columns = _rollout._COLUMNS_FROM_BATCH == 1
    ours = _OURS[columns](weights, *args)
    ref = _AUTODIFF(weights, *args)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def test_rollout_is_the_models_trajectory(x64):
    model = jaxrnn.PLRNN(4, 2, key=jax.random.PRNGKey(3))
    s = jax.random.normal(jax.random.PRNGKey(4), (2, 9, 2))
    zs = plrnn_rollout(model.A, model.W, model.h, model.C, jnp.zeros((2, 4)),
                       jnp.swapaxes(s, 0, 1))
    for b in range(2):
        ys = jaxrnn.simulate(model, jnp.zeros(4), inputs=s[b], divergence_threshold=None).ys
        np.testing.assert_allclose(zs[b], ys[-1], rtol=1e-12)

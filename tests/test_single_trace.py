"""Jitted work is defined once at module level and takes the model as an argument: calling
`simulate` (Euler, a map, a diffrax solver) and each analysis entry point again with new
weights of the same shapes reuses the compiled program (no second trace)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import _simulate_diffrax, _simulate_scan
from jaxrnn.analysis import _lyapunov, _plrnn_basins, _plrnn_cycles, _smooth_fixed_points


def _traces(fn) -> int:
    return eqx.debug.get_num_traces(fn)


def _twice(counted, call):
    """Call ``call(seed)`` for two seeds; the second call must not trace again."""
    start = _traces(counted)
    call(101)
    first = _traces(counted)
    call(202)
    assert first - start <= 1, "traced more than once for one shape"
    assert _traces(counted) == first, "traced again for new weights of the same shape"


def _ctrnn(seed):
    return jaxrnn.CTRNN(7, key=jax.random.PRNGKey(seed))


def _plrnn(seed, M=3):
    return jaxrnn.PLRNN(M, key=jax.random.PRNGKey(seed))


@pytest.mark.parametrize("solver", ["euler", "tsit5"])
def test_simulate_flow_compiles_once(solver):
    counted = _simulate_scan._euler_path if solver == "euler" else _simulate_diffrax._diffrax_path
    _twice(counted, lambda s: jaxrnn.simulate(_ctrnn(s), 0.1 * jnp.ones(7), dt=0.01, n_steps=57,
                                               solver=solver).ys.block_until_ready())


def test_simulate_map_compiles_once():
    _twice(_simulate_scan._map_path,
           lambda s: jaxrnn.simulate(_plrnn(s, 7), jnp.ones(7), n_steps=57).ys.block_until_ready())


def test_find_fixed_points_compiles_once():
    _twice(_smooth_fixed_points._solve,
           lambda s: jaxrnn.analysis.find_fixed_points(_ctrnn(s), 0.3 * jnp.ones((5, 7))))


@pytest.mark.parametrize("method", ["exhaustive", "scyfi"])
def test_plrnn_cycles_compile_once(method):
    counted = _plrnn_cycles._exhaustive_chunk if method == "exhaustive" else _plrnn_cycles._scyfi
    _twice(counted, lambda s: jaxrnn.analysis.cycles(_plrnn(s), 2, method=method,
                                                     key=jax.random.PRNGKey(0)))


def test_basins_compile_once():
    z0 = jnp.asarray(np.random.default_rng(0).normal(size=(9, 3)))
    _twice(_plrnn_basins._tails,
           lambda s: jaxrnn.analysis.basins(_plrnn(s), z0, n_steps=37, max_order=1))


def test_lyapunov_spectrum_compiles_once():
    _twice(_lyapunov._map_spectrum,
           lambda s: jaxrnn.analysis.lyapunov_spectrum(_plrnn(s, 4), jnp.ones(4), 40))
    _twice(_lyapunov._flow_spectrum,
           lambda s: jaxrnn.analysis.lyapunov_spectrum(_ctrnn(s), 0.1 * jnp.ones(7), 20, dt=0.05))

"""Activations know their calculus; CTRNN structure (skew-symmetry, from_arrays)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jaxrnn
from jaxrnn._activations_user import is_bounded, is_odd

NAMES = ["tanh", "hardtanh", "relu", "sigmoid", "identity"]


@pytest.mark.parametrize("name", NAMES)
@given(x=st.floats(-6, 6).filter(lambda v: abs(abs(v) - 1) > 1e-3 and abs(v) > 1e-3))
def test_primitive_differentiates_to_the_activation(name, x):
    act = jaxrnn.get_activation(name)
    assert float(act.primitive(0.0)) == 0.0
    np.testing.assert_allclose(jax.grad(act.primitive)(jnp.asarray(x)), act(x), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_value_and_slope_at_zero(name):
    act = jaxrnn.get_activation(name)
    np.testing.assert_allclose(act(0.0), act.value_at_zero)
    if act.slope_at_zero is not None:
        np.testing.assert_allclose(jax.grad(act)(0.0), act.slope_at_zero)
    xs = jnp.linspace(-3, 3, 13)
    if is_odd(act):
        np.testing.assert_allclose(act(-xs), -act(xs))
    assert is_bounded(act) == (name in ("tanh", "hardtanh", "sigmoid"))


def test_custom_activation_and_unknown_name():
    act = jaxrnn.get_activation(lambda u: jnp.sin(u))
    assert act.value_at_zero == 0.0 and act.slope_at_zero == pytest.approx(1.0)
    taylor = act.taylor()
    assert (taylor.value, taylor.slope) == (0.0, 1.0)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        jaxrnn.get_activation("swish")


@given(st.integers(0, 10_000), st.sampled_from([1, 3, 8]))
def test_skew_recurrence_is_exactly_skew(seed, n):
    model = jaxrnn.CTRNN(n, 0, recurrent="skew", key=jax.random.PRNGKey(seed))
    W = np.asarray(model.W)
    np.testing.assert_array_equal(W, -W.T)
    # ... also after an arbitrary perturbation of the parameter
    import equinox as eqx

    bumped = eqx.tree_at(lambda m: m.weight, model, model.weight + 0.3)
    np.testing.assert_array_equal(np.asarray(bumped.W), -np.asarray(bumped.W).T)


def test_ctrnn_from_arrays_and_vector_field(x64):
    W = jnp.array([[0.0, -2.0], [2.0, 0.0]])
    b = jnp.array([0.1, -0.1])
    W_in = jnp.array([[1.0], [0.5]])
    model = jaxrnn.CTRNN.from_arrays(W, b, W_in, decay=jnp.array([1.0, 0.5]), activation="tanh")
    h, x = jnp.array([0.3, -0.4]), jnp.array([0.2])
    expected = -jnp.array([1.0, 0.5]) * h + jnp.tanh(W @ h + b + W_in @ x)
    np.testing.assert_allclose(model.vector_field(0.0, h, x), expected, atol=1e-15)
    skew = jaxrnn.CTRNN.from_arrays(W, recurrent="skew")
    np.testing.assert_allclose(skew.W, W)
    with pytest.raises(ValueError, match="W = -Wᵀ"):
        jaxrnn.CTRNN.from_arrays(jnp.eye(2), recurrent="skew")
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        jaxrnn.CTRNN.from_arrays(W, jnp.zeros(3))
    with pytest.raises(ValueError, match="decay"):
        jaxrnn.CTRNN.from_arrays(W, decay=jnp.ones(3))


def test_public_names_import_from_the_package():
    for name in ["CTRNN", "PLRNN", "line_attractor_penalty", "rescale", "discretise",
                 "linearise", "to_continuous", "simulate"]:
        assert hasattr(jaxrnn, name), name

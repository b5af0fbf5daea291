"""Test configuration: float64 everywhere (tolerances down to 1e-12 need it) and a PRNG key."""

import jax

# Enabled before any test module builds arrays, so every test runs in float64.
jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("jaxrnn", deadline=None, max_examples=25, derandomize=True)
settings.load_profile("jaxrnn")


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)


@pytest.fixture(scope="session")
def x64():
    """Asserts that float64 is active (for tests whose tolerances need it)."""
    assert jnp.zeros(()).dtype == jnp.float64
    return jnp.float64

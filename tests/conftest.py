"""Test configuration: float64 everywhere (tolerances down to 1e-12 need it) and a PRNG key."""

import os

import jax

# Float64 everywhere (enabled before any test module builds arrays), except in the
# float32 suite: tests/float32 runs in a fresh process with x64 off, as the CLI runs
# (tests/test_float32.py starts it with JAXRNN_TEST_X64=0).
X64 = os.environ.get("JAXRNN_TEST_X64", "1") != "0"
jax.config.update("jax_enable_x64", X64)
collect_ignore = [] if not X64 else ["float32"]

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


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")

"""Test configuration: float64 everywhere (tolerances down to 1e-12 need it) and a PRNG key."""

import os
import tempfile

import jax

# One on-disk cache of compiled programs for the whole test session, shared by the
# child processes the CLI, crash and float32 tests start (they compile the same training
# programs again and again) and by pytest-xdist workers (which inherit the environment).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="jaxrnn-tests-jit-"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
# Test programs are tiny and compiled once: spend less time optimising them (measured:
# 13 % less wall time on test_oscillators + test_simulate; IEEE semantics are unchanged).
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 "
                      "--xla_llvm_disable_expensive_passes=true")
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)

# Float64 everywhere (enabled before any test module builds arrays), except in the
# float32 suite: tests/float32 runs in a fresh process with x64 off, as the CLI runs
# (tests/test_float32.py starts it with JAXRNN_TEST_X64=0).
X64 = os.environ.get("JAXRNN_TEST_X64", "1") != "0"
jax.config.update("jax_enable_x64", X64)
collect_ignore = [] if not X64 else ["float32"]

import jax.numpy as jnp  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# 8 examples per property (derandomised, so the same ones every run): enough to cover the
# shapes and regimes each strategy draws, and it keeps the suite within its 4-minute budget
settings.register_profile("jaxrnn", deadline=None, max_examples=8, derandomize=True)
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


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    """Drop JAX's in-memory compiled programs after each test module (a module's programs
    are not reused by the next one), so that a worker's memory does not grow with the sum
    of every module's compilations."""
    yield
    jax.clear_caches()


@pytest.fixture(autouse=True)
def _bound_memory():
    """Also drop them after any test that leaves this process above 1.4 GB. Measured
    (session 5, two workers, this 2-core machine): 1.2 GB 253 s / 2.1 GB peak, 1.35 GB
    241 s / 2.4 GB, 1.5 GB 221 s / 2.7 GB; clearing after every test kept two workers
    under 2.3 GB but cost 25 % more time."""
    yield
    if _rss_bytes() > 1.4e9:
        jax.clear_caches()

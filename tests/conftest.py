"""Test configuration: float64 everywhere (tolerances down to 1e-12 need it) and a PRNG key."""

import ctypes
import gc
import os
import tempfile

import jax

# One on-disk cache of compiled programs for the whole test session, shared by the
# child processes the CLI, crash and float32 tests start (they compile the same training
# programs again and again) and by pytest-xdist workers (which inherit the environment).
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:  # workers inherit the controller's
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="jaxrnn-tests-jit-")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
# Test programs are tiny and compiled once: spend less time optimising them (measured:
# 13 % less wall time on test_oscillators + test_simulate; IEEE semantics are unchanged).
# XLA:CPU's older loop emitters instead of its fusion emitters: the same operations, in
# far less compile time (measured 2026-12-03 at e2cfb84, this 2-core machine, test_em.py
# alone: 128 s -> 71 s of CPU; the whole suite: 745 s -> 530 s of CPU).
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 "
                      "--xla_llvm_disable_expensive_passes=true "
                      "--xla_cpu_use_fusion_emitters=false")
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def pytest_collection_finish(session):
    """The cyclic garbage collector: everything imported and collected so far (jax, jaxrnn,
    the jaxtyping hook's wrappers, the tests) moves to the permanent generation, and
    collections run less often. A full collection walks every tracked object, and JAX's
    caches of traced and compiled programs grow through the run. Measured 2026-12-04
    (the whole suite in one process on one core): 24.6 s of collections at 3b72165
    (72 full ones, 21 s), 5.3 s at b59addc (28 full ones, most of them the memory
    releases' own)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


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


def _release_compiled_programs() -> int:
    """Drop JAX's in-memory caches of traced and compiled programs and hand the freed
    memory back to the OS (glibc keeps it otherwise, and the process stays as large);
    returns the resident size afterwards."""
    jax.clear_caches()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
    return _rss_bytes()


# Measured 2026-11-23 at 3222ecf (two workers, this 2-core machine): without returning memory to
# the OS a worker stayed above the limit after a release and then released, and
# recompiled, after every following test (90 times in one run); with malloc_trim and the
# 0.2 GB hysteresis it releases about once per worker, and the peak of the whole suite
# fell from 2.7-2.8 GB to 1.8-2.1 GB, at the same wall time.
# Programs are kept across test modules until a worker reaches the limit (many are shared:
# eager operations, models, training chunks): measured 2026-12-03 at e2cfb84, dropping
# them after every module as well cost 10 % more CPU (530 s against 481 s); without it the
# largest worker peaked at 1.5 GB. Measured 2026-12-04 at ab11aac (the README's command,
# idle machine): each worker released 6 times (5:05); with no release at all the suite
# took 5:12 and its largest process peaked at 4.6 GB, so the releases cost no time.
RSS_LIMIT = 1.4e9  # per worker
_limit = [RSS_LIMIT]


@pytest.fixture(autouse=True)
def _bound_memory():
    """Drop the compiled programs after any test that leaves this process above RSS_LIMIT,
    or 0.2 GB above what it kept after the last release (so that memory the process cannot
    give back does not make it release, and recompile, after every test)."""
    yield
    if _rss_bytes() > _limit[0]:
        _limit[0] = max(RSS_LIMIT, _release_compiled_programs() + 0.2e9)

"""Runs tests/float32 in a fresh process with jax_enable_x64 off (the CLI's setting)."""

import os
import pathlib
import subprocess
import sys


def test_float32_suite_passes_with_x64_off():
    here = pathlib.Path(__file__).resolve().parent
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(here / "float32")], capture_output=True, text=True, timeout=900,
                         env={**os.environ, "JAXRNN_TEST_X64": "0", "JAX_ENABLE_X64": "0"},
                         cwd=here.parent)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert " passed" in out.stdout and "skipped" not in out.stdout

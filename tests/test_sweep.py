"""jaxrnn.sweep: one vmapped program over a grid, chunked, sharded; equals a Python loop."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn

MODEL = jaxrnn.CTRNN(4, 0, activation="tanh", gain=1.5, key=jax.random.PRNGKey(0))
Y0 = jnp.array([0.5, -0.3, 0.2, 0.1])
T1 = 2.0


def euler_vs_reference(tau, dt):
    """Global error of Euler on R_τ(F) over s ∈ [0, T1], against Tsit5, and whether the
    Euler map is stable at the origin's linearisation (spectral radius < 1)."""
    n = 64
    system = jaxrnn.rescale(MODEL, tau)
    euler = jaxrnn.simulate(system, Y0, n_steps=n, dt=dt, saveat="t1").ys[0]
    ref = jaxrnn.simulate(system, Y0, n_steps=n, dt=dt, solver="tsit5", saveat="t1").ys[0]
    J = jaxrnn.linearise(jaxrnn.discretise(system, dt), at=jnp.zeros(4)).M
    return {"error": jnp.linalg.norm(euler - ref),
            "radius": jnp.max(jnp.abs(jnp.linalg.eigvals(J)))}


AXES = {"tau": [0.5, 1.0, 2.0], "dt": [0.01, 0.02, 0.05, 0.1, 0.2]}


def test_sweep_equals_a_python_loop(x64):
    res = jaxrnn.sweep(euler_vs_reference, AXES)
    assert len(res) == 15 and res.shape == (3, 5)
    for row in res.rows():
        ref = euler_vs_reference(row["tau"], row["dt"])
        np.testing.assert_allclose(row["error"], ref["error"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(row["radius"], ref["radius"], rtol=1e-12)
    # the error depends on tau and dt only through tau*dt (Caruso & Jarne): equal products agree
    grid = res.grid("error")
    np.testing.assert_allclose(grid[0, 1], grid[1, 0], rtol=1e-10)  # 0.5*0.02 == 1.0*0.01
    np.testing.assert_allclose(grid[1, 4], grid[2, 3], rtol=1e-10)  # 1.0*0.2 == 2.0*0.1


def test_chunked_equals_unchunked(x64, tmp_path):
    """Equal to rounding: XLA may vectorise a batch of 4 and of 15 differently, which moves
    the last bit (here 2e-16 absolute on an error of 8e-10 formed by cancellation)."""
    whole = jaxrnn.sweep(euler_vs_reference, AXES)
    for chunked in (jaxrnn.sweep(euler_vs_reference, AXES, chunk_size=4),
                    jaxrnn.sweep(euler_vs_reference, AXES, memory_budget=1.0)):
        for k in whole.outputs:
            np.testing.assert_allclose(chunked.outputs[k], whole.outputs[k], rtol=1e-12,
                                       atol=1e-15)
    again = jaxrnn.sweep(euler_vs_reference, AXES, chunk_size=4)  # same chunks: bit for bit
    np.testing.assert_array_equal(again.outputs["error"],
                                  jaxrnn.sweep(euler_vs_reference, AXES, chunk_size=4)
                                  .outputs["error"])
    whole.to_csv(tmp_path / "r.csv")
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert lines[0] == "tau,dt,error,radius" and len(lines) == 16


def test_two_devices_equal_one(x64):
    script = textwrap.dedent("""
        import json, jax
        jax.config.update("jax_enable_x64", True)
        import sys; sys.path.insert(0, "tests")
        from test_sweep import AXES, euler_vs_reference
        import jaxrnn
        res = jaxrnn.sweep(euler_vs_reference, AXES, chunk_size=6)
        print(json.dumps({"n_dev": len(jax.devices()),
                          "error": res.outputs["error"].tolist()}))
    """)
    flags = os.environ.get("XLA_FLAGS", "")  # the suite's compiler flags, and 2 devices
    env = dict(os.environ, XLA_FLAGS=f"{flags} --xla_force_host_platform_device_count=2",
               JAX_PLATFORMS="cpu")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=root, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["n_dev"] == 2
    one = jaxrnn.sweep(euler_vs_reference, AXES, chunk_size=6)  # the same chunks: same bits
    np.testing.assert_array_equal(got["error"], one.outputs["error"])


def test_bad_axes_are_named():
    with pytest.raises(ValueError, match="sweep axis 'dt' must be a non-empty"):
        jaxrnn.sweep(euler_vs_reference, {"tau": [1.0], "dt": []})
    with pytest.raises(ValueError, match="sweep axis 'tau' must hold numbers"):
        jaxrnn.sweep(euler_vs_reference, {"tau": ["a"], "dt": [0.1]})

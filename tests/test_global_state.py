"""jaxrnn never changes process-global state (the issue of hidden global state): importing
it, training a model, running a sweep and analysing leave ``jax_enable_x64`` and the
matplotlib backend as the caller set them; float64 without x64 is refused with a message
naming the setting; the CLI (which owns its process) turns x64 on where a command needs it.

Each check runs in a fresh interpreter, because this test process has x64 on (conftest)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _python(code: str, tmp_path: pathlib.Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("JAX_ENABLE_X64", "MPLBACKEND")}
    env["JAX_PLATFORMS"] = "cpu"
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)


CONFIG64 = {"name": "t", "seed": 0,
            "task": {"name": "addition", "T": 20, "n_train": 64, "n_test": 32},
            "model": {"name": "rplrnn", "hidden_size": 4},
            "train": {"batch_size": 16, "epochs": 1, "dtype": "float64"}}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """One fresh interpreter (x64 off, no backend chosen) runs the library's checks and
    then the CLI's float64 run; its JSON report (one interpreter start for both tests)."""
    tmp_path = tmp_path_factory.mktemp("fresh")
    (tmp_path / "c64.yaml").write_text(json.dumps(CONFIG64))
    code = """
        import json, pathlib, matplotlib
        matplotlib.use("svg")   # the caller's choice, which jaxrnn must keep
        import jax
        before = (jax.config.jax_enable_x64, matplotlib.get_backend())
        import jaxrnn, jaxrnn.training, jaxrnn.sweeps, jaxrnn.analysis, jaxrnn.plot
        from jaxrnn.training import config_from_dict, train
        cfg = config_from_dict({"name": "t", "seed": 0,
            "task": {"name": "addition", "T": 20, "n_train": 64, "n_test": 32},
            "model": {"name": "rplrnn", "hidden_size": 4},
            "train": {"batch_size": 16, "epochs": 1, "eval_batch_size": 32}})
        summary = train(cfg, pathlib.Path("run"), progress=False)
        from jaxrnn.sweeps import parse_sweep, run_sweep
        spec = parse_sweep({"name": "s", "kind": "system", "dtype": "float32",
            "base": {"model": "ctrnn", "hidden_size": 3, "seed": 0},
            "measure": {"name": "euler_error", "n_steps": 20},
            "axes": {"tau": [0.5, 1.0], "dt": [0.01, 0.1]},
            "heatmap": {"x": "dt", "y": "tau", "value": "euler_error"}})
        rows = run_sweep(spec, pathlib.Path("sweep"), progress=False)
        after = (jax.config.jax_enable_x64, matplotlib.get_backend())
        from jaxrnn.training import Trainer
        cfg64 = config_from_dict(json.loads(pathlib.Path("c64.yaml").read_text()))
        try:
            Trainer(cfg64)
            refused = None
        except ValueError as e:
            refused = str(e)
        x64_after_refusal = jax.config.jax_enable_x64
        from jaxrnn.cli import main  # the CLI owns its process: it may turn x64 on
        cli_rc = main(["train", "c64.yaml", "--out", "run64", "--no-progress"])
        cli_status = json.loads(pathlib.Path("run64/summary.json").read_text())["status"]
        print(json.dumps({"before": before, "after": after, "status": summary["status"],
                          "refused": refused, "x64_after_refusal": x64_after_refusal,
                          "rows": len(rows),
                          "png": [pathlib.Path("run/curves.png").is_file(),
                                  pathlib.Path("sweep/heatmap.png").is_file()],
                          "cli": [cli_rc, cli_status, jax.config.jax_enable_x64]}))
    """
    proc = _python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_train_sweep_leave_x64_and_backend_alone(fresh):
    out = fresh
    assert out["before"] == [False, "svg"]
    assert out["after"] == out["before"]
    assert out["status"] == "completed" and out["rows"] == 4 and out["png"] == [True, True]
    # float64 without x64: refused with one line saying how, and x64 left off
    assert out["refused"].startswith("train.dtype: float64 needs float64")
    assert "jax_enable_x64" in out["refused"] and out["x64_after_refusal"] is False


def test_the_cli_turns_x64_on_for_a_float64_run(fresh):
    """In the same fresh interpreter, after the library left x64 off: ``jaxrnn train`` of
    a float64 config turns it on and completes the run."""
    assert fresh["x64_after_refusal"] is False
    assert fresh["cli"] == [0, "completed", True]

"""Crash safety end to end: ``kill -9`` of ``jaxrnn train`` / ``jaxrnn sweep`` at random
moments and in the middle of a checkpoint write, then resume: the run completes equal to
an uninterrupted one, and no file in the run directory is ever half-written."""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest
import yaml

from jaxrnn.training import Trainer, config_from_dict, load_config, train
from jaxrnn.training._checkpoint import load_tree

TINY = {"name": "crash", "seed": 0,
        "task": {"name": "addition", "T": 20, "n_train": 256, "n_test": 64},
        "model": {"name": "rplrnn", "hidden_size": 6},
        "train": {"batch_size": 32, "epochs": 4, "learning_rate": 3e-3, "chunk_steps": 4,
                  "eval_batch_size": 32}}

# Runs the CLI in a child process whose N-th atomic write dies half-way (SIGKILL after
# half the bytes reached the temporary file), i.e. a kill -9 during a checkpoint write.
CHILD = """
import os, pathlib, signal, sys
from jaxrnn import _files
from jaxrnn.training import _checkpoint
crash_at = int(os.environ.get("CRASH_AT_WRITE", "0"))
calls = [0]
original = _files.atomic_write
def dying_write(path, write):
    path = pathlib.Path(path)
    calls[0] += 1
    if calls[0] == crash_at:
        import io, tempfile
        buf = io.BytesIO(); write(buf); data = buf.getvalue()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.write(fd, data[: len(data) // 2]); os.fsync(fd)
        os.kill(os.getpid(), signal.SIGKILL)
    return original(path, write)
_files.atomic_write = _checkpoint.atomic_write = dying_write  # every atomic write
from jaxrnn.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _cli(args, crash_at=0, timeout=300):
    env = {**os.environ, "CRASH_AT_WRITE": str(crash_at), "JAX_ENABLE_X64": "0"}
    return subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def _assert_whole(run: pathlib.Path):
    """Every file parses; no temporary file is left once a run has completed."""
    assert not list(run.glob(".*.tmp*")), list(run.glob(".*"))
    for line in (run / "metrics.jsonl").read_text().splitlines():
        json.loads(line)
    json.loads((run / "summary.json").read_text())
    yaml.safe_load((run / "config.yaml").read_text())


def _leaves(path, config):
    template = Trainer(config).init_state()
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(load_tree(path, template))]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("ref")
    (d / "c.yaml").write_text(yaml.safe_dump(TINY))
    # float32 in the child processes: the reference is trained the same way
    t0 = time.perf_counter()
    out = _cli(["train", str(d / "c.yaml"), "--out", str(d / "run"), "--no-progress"])
    assert out.returncode == 0, out.stderr
    (d / "seconds").write_text(str(time.perf_counter() - t0))  # how long a whole run takes
    return d


@pytest.mark.parametrize("crash_at", [5])  # killed half-way through the run's 5th atomic write
def test_kill_during_a_checkpoint_write_then_resume_equals_uninterrupted(reference, tmp_path,
                                                                          crash_at):
    cfg = reference / "c.yaml"
    run = tmp_path / "run"
    out = _cli(["train", str(cfg), "--out", str(run), "--no-progress"], crash_at=crash_at)
    assert out.returncode == -signal.SIGKILL, out.stderr
    if not (run / "config.yaml").is_file():  # killed writing config.yaml: start again
        out = _cli(["train", str(cfg), "--out", str(run), "--no-progress"])
    else:
        out = _cli(["train", "--resume", str(run), "--no-progress"])
    assert out.returncode == 0, out.stderr
    _assert_whole(run)
    config = load_config(cfg)
    for a, b in zip(_leaves(reference / "run" / "last.eqx", config),
                    _leaves(run / "last.eqx", config)):
        np.testing.assert_array_equal(a, b)
    assert [json.loads(x)["epoch"] for x in (run / "metrics.jsonl").read_text().splitlines()] \
        == [1, 2, 3, 4]


def test_kill_at_random_moments_then_resume_equals_uninterrupted(reference, tmp_path):
    cfg = reference / "c.yaml"
    run = tmp_path / "run"
    rng = np.random.default_rng(0)
    env = {**os.environ, "JAX_ENABLE_X64": "0"}
    whole = float((reference / "seconds").read_text())  # kill moments spread over a run
    kills = 0
    for _ in range(8):  # two random kills, then one run left to finish
        args = (["train", "--resume", str(run)] if (run / "config.yaml").is_file()
                else ["train", str(cfg), "--out", str(run)])
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "jaxrnn.cli", *args, "--no-progress"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        try:
            _, err = proc.communicate(timeout=float(rng.uniform(0.1, 0.6) * whole) if kills < 2
                                      else 300)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
            kills += 1
            continue
        if proc.returncode == 0 and kills == 0:
            # it finished before the first kill: it ran faster than the reference run (whose
            # programs were not yet in the compilation cache); start over at its pace
            whole = time.perf_counter() - t0
            shutil.rmtree(run)
            continue
        break
    assert proc.returncode == 0, err.decode()
    assert kills >= 1
    _assert_whole(run)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    config = load_config(cfg)
    for a, b in zip(_leaves(reference / "run" / "last.eqx", config),
                    _leaves(run / "last.eqx", config)):
        np.testing.assert_array_equal(a, b)


SYSTEM_SWEEP = {"name": "s", "kind": "system", "chunk_size": 6,
                "base": {"model": "ctrnn", "hidden_size": 3, "seed": 0},
                "measure": {"name": "euler_error", "n_steps": 20},
                "axes": {"tau": {"linspace": [0.5, 2.0, 6]},
                         "dt": {"linspace": [0.01, 0.1, 5]}}}


def test_killed_system_sweep_resumes_its_unfinished_chunks(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SYSTEM_SWEEP))
    from jaxrnn.cli import main  # in-process: the uninterrupted reference, and the refusal

    assert main(["sweep", str(path), "--out", str(tmp_path / "full"), "--no-progress"]) == 0
    out = _cli(["sweep", str(path), "--out", str(tmp_path / "part")], crash_at=3)
    assert out.returncode == -signal.SIGKILL
    assert len(list((tmp_path / "part" / "chunks").glob("chunk-*.npz"))) == 2
    capsys.readouterr()
    assert main(["sweep", str(path), "--out", str(tmp_path / "part")]) == 2
    assert "--resume" in capsys.readouterr().err
    # the resume reads everything from disk: in this process, as the reference ran
    assert main(["sweep", str(path), "--out", str(tmp_path / "part"), "--resume"]) == 0
    assert "s: resuming, 12 grid points already done" in capsys.readouterr().err  # 2 kept
    assert (tmp_path / "part" / "results.csv").read_text() == \
        (tmp_path / "full" / "results.csv").read_text()
    assert not (tmp_path / "part" / "chunks").exists()


def test_a_stop_request_ends_a_sweep_after_a_kept_chunk_and_it_resumes(tmp_path):
    """``stop`` (what the CLI's SIGTERM/Ctrl-C handler sets) is asked after every chunk:
    the sweep ends with KeyboardInterrupt, the chunks done are kept, and resuming gives
    the uninterrupted results."""
    from jaxrnn.sweeps import load_sweep, run_sweep

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SYSTEM_SWEEP))
    spec = load_sweep(path)
    asked = []
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, tmp_path / "part", progress=False,
                  stop=lambda: asked.append(1) or len(asked) == 2)
    assert len(list((tmp_path / "part" / "chunks").glob("chunk-*.npz"))) == 2
    rows = run_sweep(spec, tmp_path / "part", progress=False, resume=True)
    assert rows == run_sweep(spec, tmp_path / "full", progress=False)


def test_sigterm_ends_a_run_as_interrupted_and_it_resumes(reference, tmp_path):
    cfg = reference / "c.yaml"
    run = tmp_path / "run"
    env = {**os.environ, "JAX_ENABLE_X64": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "jaxrnn.cli", "train", str(cfg), "--out",
                             str(run), "--no-progress"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 120
    while not (run / "last.eqx").is_file() and time.time() < deadline:  # after one epoch
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)  # waits, reads and closes the pipe
    err = err.decode().strip().splitlines()
    if proc.returncode == 0:  # finished before the signal arrived: nothing to check
        return
    assert proc.returncode == 130 and len(err) == 1 and "interrupted" in err[0], err
    assert err[0].endswith(f"resume with --resume {run}"), err  # the path, not a placeholder
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    out = _cli(["train", "--resume", str(run), "--no-progress"])
    assert out.returncode == 0, out.stderr
    config = load_config(cfg)
    for a, b in zip(_leaves(reference / "run" / "last.eqx", config),
                    _leaves(run / "last.eqx", config)):
        np.testing.assert_array_equal(a, b)

"""Several processes as one JAX program (jax.distributed, gloo collectives on this CPU),
started by ``python -m jaxrnn.launch`` on 127.0.0.1: a system sweep sharded over the
devices of two processes survives a killed process (the run ends, named; --resume
finishes it) with the results of one process, and processes that would run different
sweeps are refused at start-up."""

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from jaxrnn.cli import main

SWEEP = {"name": "d", "kind": "system", "chunk_size": 4, "dtype": "float64",
         "base": {"model": "ctrnn", "hidden_size": 3, "seed": 0},
         "measure": {"name": "euler_error", "n_steps": 20},
         "axes": {"tau": {"linspace": [0.5, 2.0, 5]}, "dt": {"linspace": [0.01, 0.1, 3]}}}


def _launch(command, timeout=30):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.run([sys.executable, "-m", "jaxrnn.launch", "--processes", "2",
                           "--timeout", str(timeout), "--", *command],
                          capture_output=True, text=True, timeout=240, env=env)


@pytest.fixture(scope="module")
def one(tmp_path_factory):
    """results.csv of the sweep in chunks of 2 in this one process, on one device."""
    d = tmp_path_factory.mktemp("one")
    (d / "s.yaml").write_text(yaml.safe_dump({**SWEEP, "chunk_size": 2}))
    assert main(["sweep", str(d / "s.yaml"), "--out", str(d / "out"), "--no-progress"]) == 0
    return (d / "out" / "results.csv").read_text()


def test_processes_with_different_sweeps_are_refused(tmp_path):
    for i, steps in enumerate((20, 30)):  # refused before any chunk is computed
        spec = {**SWEEP, "measure": {"name": "euler_error", "n_steps": steps}}
        (tmp_path / f"s{i}.yaml").write_text(yaml.safe_dump(spec))
    cli = f"{sys.executable} -m jaxrnn.cli sweep {tmp_path}/s$JAX_PROCESS_ID.yaml --out " \
          f"{tmp_path}/out --no-progress --distributed --timeout 30"
    out = _launch(["sh", "-c", cli])
    assert out.returncode == 2, out.stderr[-3000:]
    assert "the sweep" in out.stderr and "differs between processes" in out.stderr
    assert "jaxrnn.launch: process" in out.stderr.splitlines()[-1]
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_a_killed_process_ends_the_run_and_two_processes_resume_it_to_one_process_results(
        tmp_path, one):
    """Process 1 is killed once both have started the sweep; the launcher ends the run
    with one line naming it, and the same command with --resume finishes it on two
    processes (15 points in chunks of 2, one chunk per device at once: the last chunk
    and the last round padded) with the bytes of one process's results.csv, written
    once, by process 0: each device evaluates whole chunks with the one-device
    program."""
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SWEEP, "chunk_size": 2}))  # 8 chunks
    cli = [sys.executable, "-m", "jaxrnn.cli", "sweep", str(path), "--out", str(tmp_path / "two"),
           "--no-progress", "--distributed", "--timeout", "10"]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    launcher = subprocess.Popen([sys.executable, "-m", "jaxrnn.launch", "--processes", "2",
                                 "--timeout", "1", "--", *cli], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    chunks = tmp_path / "two" / "chunks"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not chunks.is_dir():  # both are in the sweep
        time.sleep(0.02)
    children = subprocess.run(["pgrep", "-P", str(launcher.pid)], capture_output=True,
                              text=True).stdout.split()
    os.kill(int(children[-1]), signal.SIGKILL)  # process 1
    t0 = time.monotonic()
    _, err = launcher.communicate(timeout=120)
    assert launcher.returncode != 0 and time.monotonic() - t0 < 30  # no hang
    assert "jaxrnn.launch: process 1 exited with code -9" in err.strip().splitlines()[-1], err
    resumed = _launch(cli + ["--resume"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stdout.count("sweep directory:") == 1  # process 0 reports, and writes
    assert (tmp_path / "two" / "heatmap.png").is_file()
    assert not (tmp_path / "two" / "chunks").exists()
    assert (tmp_path / "two" / "results.csv").read_text() == one


def test_a_process_without_its_coordinator_stops_with_one_line(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(SWEEP))
    env = {**os.environ, "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}",
           "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "1"}
    out = subprocess.run([sys.executable, "-m", "jaxrnn.cli", "sweep", str(tmp_path / "s.yaml"),
                          "--out", str(tmp_path / "out"), "--distributed", "--timeout", "1"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.strip().splitlines() == [
        f"jaxrnn: error: --distributed: no coordinator at 127.0.0.1:{port} after 1 s "
        "(is process 0 running?)"]
    assert not (tmp_path / "out").exists()

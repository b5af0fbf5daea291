"""Several processes as one JAX program (jax.distributed, gloo collectives on this CPU),
started by ``python -m jaxrnn.launch`` on 127.0.0.1: a system sweep sharded over the
devices of two processes survives a killed process (the run ends, named; --resume
finishes it) with the results of one process, and processes that would run different
sweeps are refused at start-up."""

import io
import os
import signal
import subprocess
import sys
import time

import numpy as np
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
    """results.csv of the sweep in this one process (the chunk size does not change it)."""
    d = tmp_path_factory.mktemp("one")
    (d / "s.yaml").write_text(yaml.safe_dump(SWEEP))
    assert main(["sweep", str(d / "s.yaml"), "--out", str(d / "out"), "--no-progress"]) == 0
    return (d / "out" / "results.csv").read_text()


def _same(csv_text, reference):
    """The same grid and columns; the values to 1e-12 (a device shard of 2 points
    vectorises differently from a chunk of 4, which moves the last bits)."""
    rows, ref = csv_text.splitlines(), reference.splitlines()
    assert rows[0] == ref[0] and len(rows) == len(ref)
    a, b = (np.array([[float(v) for v in r.split(",")] for r in x[1:]]) for x in (rows, ref))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


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
    processes (15 points in chunks of 2 over 2 devices: padding both ways) with the
    results of one process, written once, by process 0."""
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SWEEP, "chunk_size": 2}))  # 8 chunks
    cli = [sys.executable, "-m", "jaxrnn.cli", "sweep", str(path), "--out", str(tmp_path / "two"),
           "--no-progress", "--distributed", "--timeout", "10"]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    launcher = subprocess.Popen([sys.executable, "-m", "jaxrnn.launch", "--processes", "2",
                                 "--timeout", "3", "--", *cli], env=env,
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
    _same((tmp_path / "two" / "results.csv").read_text(), one)


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


POPULATION_BASE = {
    "name": "pop", "seed": 0, "task": {"name": "addition", "T": 20, "n_train": 96, "n_test": 32},
    "model": {"name": "rplrnn", "hidden_size": 5},
    "train": {"batch_size": 16, "epochs": 2, "chunk_steps": 4, "eval_batch_size": 32,
              "dtype": "float64"}}
POPULATION_SWEEP = {"name": "pop", "kind": "training", "base": "base.yaml",
                    "axes": {"model.tau": [0.0, 2.0, 5.0], "seed": {"range": [0, 2]}}}


def _population_files(out):
    """The bytes of what a training sweep writes that does not depend on timing: the
    population's stacked state, each member's best parameters, and results.csv."""
    pop = out / "population"
    files = {"last.eqx": (pop / "last.eqx").read_bytes(),
             "results.csv": (out / "results.csv").read_bytes()}
    for m in sorted((pop / "members").iterdir()):
        files[f"{m.name}/best.eqx"] = (m / "best.eqx").read_bytes()
    return files


def _leaves(data: bytes):
    """The array leaves of an ``equinox.tree_serialise_leaves`` file's bytes, in order."""
    f, out = io.BytesIO(data), []
    while f.tell() < len(data):
        out.append(np.load(f))
    return out


def _close(files, reference):
    """The same files, statuses and integer leaves; floats to 1e-10 relative."""
    assert files.keys() == reference.keys()
    for name, ref in reference.items():
        if name == "results.csv":
            got, ref = (x.decode().splitlines() for x in (files[name], ref))
            assert got[0] == ref[0] and len(got) == len(ref)
            for a, b in zip(got[1:], ref[1:]):
                a, b = a.split(","), b.split(",")
                assert a[-1] == b[-1]  # the status
                np.testing.assert_allclose([float(v) for v in a[:-1]],
                                           [float(v) for v in b[:-1]], rtol=1e-10)
            continue
        for a, b in zip(_leaves(files[name]), _leaves(ref), strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape
            if np.issubdtype(a.dtype, np.floating):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
            else:
                np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def population_one(tmp_path_factory):
    """The 6-member float64 training sweep in this one process, on one device."""
    d = tmp_path_factory.mktemp("pop_one")
    (d / "base.yaml").write_text(yaml.safe_dump(POPULATION_BASE))
    (d / "s.yaml").write_text(yaml.safe_dump(POPULATION_SWEEP))
    assert main(["sweep", str(d / "s.yaml"), "--out", str(d / "out"), "--no-progress"]) == 0
    return _population_files(d / "out")


def test_a_population_on_two_processes_equals_one_process_bit_for_bit(tmp_path, population_one):
    """6 members (3 per process) trained for 2 epochs of 6 steps: the checkpoint of the
    whole population, every member's best parameters and results.csv are the bytes of
    the one-process run; process 0 alone writes them."""
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(POPULATION_BASE))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(POPULATION_SWEEP))
    out = _launch([sys.executable, "-m", "jaxrnn.cli", "sweep", str(tmp_path / "s.yaml"),
                   "--out", str(tmp_path / "out"), "--no-progress", "--distributed",
                   "--timeout", "30"])
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("sweep directory:") == 1
    assert _population_files(tmp_path / "out") == population_one


def test_a_population_on_four_devices_of_one_process_equals_one_device(tmp_path,
                                                                        population_one):
    """XLA_FLAGS=--xla_force_host_platform_device_count=4 in a fresh process: the 6
    members padded to 8, 2 per device, give the one-device results to 1e-10 (not the
    bytes: the vmapped step over 2 members rounds differently in the last bit from the
    step over 6, where 3 or 10 members round as 6 or 20 do; the two-process test above
    has 3 per device and is exact)."""
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(POPULATION_BASE))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(POPULATION_SWEEP))
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    code = ("import sys, jax; from jaxrnn.cli import main; assert jax.device_count() == 4; "
            "sys.exit(main(sys.argv[1:]))")
    out = subprocess.run([sys.executable, "-c", code, "sweep", str(tmp_path / "s.yaml"),
                          "--out", str(tmp_path / "out"), "--no-progress"],
                         capture_output=True, text=True, timeout=240, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    _close(_population_files(tmp_path / "out"), population_one)

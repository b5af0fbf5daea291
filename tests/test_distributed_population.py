"""Training sweeps over several devices and processes: a population's members in blocks,
one per device, each block trained by the one-device program (``jaxrnn._member_mesh``);
two processes started by ``python -m jaxrnn.launch`` on 127.0.0.1, and four CPU devices
of one process, against the same population on one device."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml
from test_distributed import _launch

from jaxrnn.cli import main

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
           "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")  # the suite's, and 4 devices
           + " --xla_force_host_platform_device_count=4"}
    code = ("import sys, jax; from jaxrnn.cli import main; assert jax.device_count() == 4\n"
            "from jaxrnn._member_mesh import MemberMesh\n"
            "one, three, six = MemberMesh(1), MemberMesh(3), MemberMesh(6)\n"
            "assert not one.sharded  # a single model stays on one device\n"
            "assert (three.n_devices, three.padded) == (3, 3)  # no device without members\n"
            "assert (six.n_devices, six.block, six.padded) == (4, 2, 8)\n"
            "sys.exit(main(sys.argv[1:]))")
    out = subprocess.run([sys.executable, "-c", code, "sweep", str(tmp_path / "s.yaml"),
                          "--out", str(tmp_path / "out"), "--no-progress"],
                         capture_output=True, text=True, timeout=240, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    _close(_population_files(tmp_path / "out"), population_one)

"""Sweep files and ``jaxrnn sweep``: parsing, errors, system and training grids."""

import csv
import re
import pathlib

import numpy as np
import pytest
import yaml

from jaxrnn.cli import main
from jaxrnn.sweeps import SweepError, axis_values, load_sweep, parse_sweep, run_sweep
from jaxrnn.sweeps import spectral_radius

ROOT = pathlib.Path(__file__).resolve().parents[1]

SYSTEM = {"name": "s", "kind": "system",
          "base": {"model": "ctrnn", "hidden_size": 4, "gain": 0.8, "seed": 0},
          "measure": {"name": "euler_error", "n_steps": 50},
          "axes": {"tau": {"logspace": [-0.4, 0.4, 5]}, "dt": {"logspace": [-2, -1.2, 5]}},
          "heatmap": {"x": "dt", "y": "tau", "value": "euler_error", "log": True,
                      "contour": "euler_stable"}}


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_axis_forms():
    np.testing.assert_allclose(axis_values("a", {"logspace": [-1, 1, 3]}), [0.1, 1.0, 10.0])
    np.testing.assert_allclose(axis_values("a", {"linspace": [0, 1, 5]}), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(axis_values("a", {"range": [0, 4]}), [0, 1, 2, 3])
    np.testing.assert_array_equal(axis_values("a", [1, 2, 5]), [1, 2, 5])


@pytest.mark.parametrize("change, key", [
    ({"kind": "grid"}, "kind"),
    ({"axes": {"tau": {"logspace": [0, 1]}}}, "axes.tau.logspace"),
    ({"axes": {"tau": {"geomspace": [1, 2, 3]}}}, "axes.tau.geomspace"),
    ({"axes": {"tau": []}}, "axes.tau"),
    ({"axes": {"tau": ["fast", 1.0]}}, "axes.tau[0]"),
    ({"axes": {}}, "axes"),
    ({"colour": "red"}, "colour"),
    ({"heatmap": {"x": "gamma"}}, "heatmap.x"),
    ({"chunk_size": 0}, "chunk_size"),
    ({"base": "configs/quickstart.yaml"}, "base"),
    ({"set": {"train.epochs": 1}}, "set"),
])
def test_malformed_sweep_files_name_the_key(change, key):
    raw = {**SYSTEM, **change}
    with pytest.raises(SweepError, match=re.escape(f"'{key}'")):
        parse_sweep(raw)


@pytest.mark.parametrize("change, key", [
    ({"measure": {"name": "magic"}}, "measure.name"),
    ({"measure": {"name": "euler_error", "steps": 3}}, "measure.steps"),
    ({"axes": {"hidden_size": [4, 8]}}, "axes.hidden_size"),
    ({"base": {"model": "lstm"}}, "base.model"),
    ({"base": {"model": "ctrnn", "width": 3}}, "base.width"),
    ({"outputs": ["accuracy"]}, "outputs"),
])
def test_cli_rejects_bad_sweeps_with_one_line_and_exit_2(tmp_path, capsys, change, key):
    path = tmp_path / "bad.yaml"
    raw = {**SYSTEM, **change}
    if "axes" in change:
        del raw["heatmap"]
    path.write_text(yaml.safe_dump(raw))
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"'{key}'" in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out" / "results.csv").exists()


def test_missing_and_unparsable_sweep_files(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml: not found" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("axes: [unclosed")
    assert main(["sweep", str(bad)]) == 2
    assert "invalid YAML" in capsys.readouterr().err


def test_spectral_radius_by_squaring_matches_eigenvalues(x64):
    rng = np.random.default_rng(0)
    for scale in (0.3, 1.0, 2.0):
        M = rng.normal(size=(6, 6)) * scale / np.sqrt(6)
        np.testing.assert_allclose(spectral_radius(M), np.max(np.abs(np.linalg.eigvals(M))),
                                   rtol=1e-9)


def test_euler_error_depends_only_on_tau_times_dt(tmp_path, x64):
    # tau and dt on the same 10^0.2 lattice: many grid points share tau * dt
    rows = run_sweep(parse_sweep(SYSTEM), tmp_path / "s", progress=False)
    assert len(rows) == 25
    assert (tmp_path / "s" / "heatmap.png").is_file()
    assert len(_rows(tmp_path / "s" / "results.csv")) == 25
    groups = {}
    for r in rows:
        groups.setdefault(round(np.log10(r["tau_dt"]), 6), []).append(r)
    shared = [g for g in groups.values() if len(g) > 1]
    assert len(shared) == 7
    for g in shared:
        errs = np.array([r["euler_error"] for r in g])
        np.testing.assert_allclose(errs, errs[0], rtol=1e-6)
        assert len({r["euler_stable"] for r in g}) == 1
    # and Euler converges: the error falls with tau * dt (first order)
    td = np.array([r["tau_dt"] for r in rows])
    err = np.array([r["euler_error"] for r in rows])
    slope = np.polyfit(np.log(td), np.log(err), 1)[0]
    assert 0.8 < slope < 1.2


def test_stability_flag_is_the_euler_map_at_the_origin(tmp_path, x64):
    import jax

    import jaxrnn

    raw = {**SYSTEM, "axes": {"tau": [1.0], "dt": {"logspace": [-1, 1, 9]}}}
    rows = run_sweep(parse_sweep(raw), tmp_path / "s", progress=False)
    system = jaxrnn.CTRNN(4, gain=0.8, key=jax.random.PRNGKey(0))
    J = np.asarray(jaxrnn.linearise(system).A)
    for r in rows:
        rho = np.max(np.abs(np.linalg.eigvals(np.eye(4) + r["dt"] * J)))
        np.testing.assert_allclose(r["euler_spectral_radius"], rho, rtol=1e-8)
        assert r["euler_stable"] == float(rho < 1)


def test_training_sweep_trains_a_population_and_writes_a_heatmap(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({
        "name": "b", "task": {"name": "addition", "T": 20, "n_train": 128, "n_test": 64},
        "model": {"name": "rplrnn", "hidden_size": 6},
        "train": {"batch_size": 32, "epochs": 1, "chunk_steps": 4, "eval_batch_size": 64}}))
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({
        "name": "tr", "kind": "training", "base": "base.yaml",
        "axes": {"model.tau": [0.0, 5.0], "seed": {"range": [0, 2]}},
        "heatmap": {"x": "seed", "y": "model.tau", "value": "best_test_frac_correct"}}))
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--no-progress"]) == 0
    rows = _rows(out / "results.csv")
    assert [(float(r["model.tau"]), int(r["seed"])) for r in rows] == [
        (0.0, 0), (0.0, 1), (5.0, 0), (5.0, 1)]
    assert all(r["status"] == "completed" for r in rows)
    assert (out / "heatmap.png").is_file()
    assert len(list((out / "population" / "members").iterdir())) == 4
    assert main(["sweep", str(sweep), "--out", str(out), "--no-progress"]) == 2  # no overwrite
    # --set overrides the base config (here: the number of epochs) for every member
    out2 = tmp_path / "out2"
    assert main(["sweep", str(sweep), "--out", str(out2), "--no-progress",
                 "--set", "train.epochs=2"]) == 0
    member = next((out2 / "population" / "members").iterdir())
    assert yaml.safe_load((member / "config.yaml").read_text())["train"]["epochs"] == 2


def test_sweep_set_is_for_training_sweeps_and_needs_key_value(tmp_path, capsys):
    from jaxrnn.sweeps import with_overrides

    system = tmp_path / "sys.yaml"
    system.write_text(yaml.safe_dump(SYSTEM))
    assert main(["sweep", str(system), "--set", "train.epochs=2"]) == 2
    assert "--set overrides a training sweep" in capsys.readouterr().err
    spec = parse_sweep({"kind": "training", "base": str(ROOT / "configs" / "quickstart.yaml"),
                        "axes": {"seed": [0, 1]}, "set": {"train.epochs": 3}})
    assert with_overrides(spec, ["train.epochs=5", "model.tau=0.001"]).set == {
        "train.epochs": 5, "model.tau": 1e-3}
    with pytest.raises(SweepError, match="key.path=value"):
        with_overrides(spec, ["train.epochs"])


def test_training_sweeps_may_only_vary_shape_free_settings(tmp_path):
    spec = parse_sweep({"kind": "training", "base": str(ROOT / "configs" / "quickstart.yaml"),
                        "axes": {"model.hidden_size": [8, 16]}})
    with pytest.raises(SweepError, match="'axes.model.hidden_size'"):
        run_sweep(spec, tmp_path / "o", progress=False)


def test_example_sweep_files_are_valid():
    files = sorted((ROOT / "configs" / "sweeps").glob("*.yaml"))
    assert {f.stem for f in files} >= {"ctrnn_tau_dt", "rplrnn_tau_seed"}
    for f in files:
        spec = load_sweep(f)
        if spec.kind == "training":
            assert spec.base_path().is_file()

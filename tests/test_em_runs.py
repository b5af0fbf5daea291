"""EM from YAML through the CLI, recorded CSV data, and the Fig. 3 measures
(Schmidt et al., Sect. 3.4 and 4.2)."""

import json
import pathlib

import numpy as np
import pytest
import yaml

from jaxrnn.cli import main
from jaxrnn.metrics import amplitude_spectrum, fig3_table, isoutlier, spectrum_errors
from jaxrnn.systems import RecordedDataError, load_csv_series, recorded_dataset

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _err(capsys):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("jaxrnn: error: ")
    return lines[0]


# ---------------------------------------------------------------- the Fig. 3 measures


def test_amplitude_spectrum_of_sinusoids_is_their_amplitudes():
    L, fs = 1501, 2000.0
    t = np.arange(L) / fs
    # frequencies on the bin grid: f_k = fs k / L
    x = 0.7 + 2.0 * np.cos(2 * np.pi * fs * 30 / L * t) + 0.5 * np.sin(2 * np.pi * fs * 400 / L * t)
    f, p = amplitude_spectrum(x, fs)
    assert f.shape == p.shape == (751,)
    assert f[1] == pytest.approx(fs / L)
    np.testing.assert_allclose(p[[0, 30, 400]], [0.7, 2.0, 0.5], atol=1e-12)
    p[[0, 30, 400]] = 0
    np.testing.assert_allclose(p, 0.0, atol=1e-12)
    # the last bin of an odd length is not doubled (MATLAB's recipe)
    y = np.cos(np.pi * 2 * 750 / 1501 * np.arange(1501))
    assert amplitude_spectrum(y)[1][-1] == pytest.approx(0.5, abs=1e-12)


def test_spectrum_errors_by_band():
    rng = np.random.default_rng(0)
    x = rng.normal(size=1501)
    same = spectrum_errors(x, x)
    assert same["mse"] == same["mse_low"] == same["mse_high"] == 0.0
    assert same["r"] == pytest.approx(1.0)
    fs, L = 2000.0, 1501
    t = np.arange(L) / fs
    slow = np.cos(2 * np.pi * fs * 10 / L * t)  # 13.3 Hz: low band only
    e = spectrum_errors(x, x + slow)
    f, p = amplitude_spectrum(x)
    _, q = amplitude_spectrum(x + slow)
    assert e["mse_high"] == pytest.approx(0.0, abs=1e-20)
    assert e["mse_low"] == pytest.approx(np.mean((q - p)[f <= 50] ** 2))
    assert e["mse"] == pytest.approx(np.mean((q - p) ** 2))
    assert np.sum(f <= 50) == 38 and np.sum((f > 50) & (f <= 600)) == 413  # the authors' bins


def test_isoutlier_is_three_scaled_mads():
    v = np.array([1.0, 2.0, 3.0, 4.0, 100.0, np.nan])
    med = 3.0
    mad = 1.4826 * np.median(np.abs(np.array([1, 2, 3, 4, 100.0]) - med))
    expected = np.abs(v - med) > 3 * mad
    expected[-1] = False
    np.testing.assert_array_equal(isoutlier(v), expected)
    assert isoutlier(v).tolist() == [False, False, False, False, True, False]


def test_fig3_table_applies_the_authors_filters():
    runs = []
    for tau, vals in [(0, [1.0, 2.0, 3.0]), (10, [4.0, 5.0, 6.0])]:
        for v in vals:
            runs.append(dict(tau=tau, diverged=False, d_kl=v, mse=v / 100, mse_low=v,
                             mse_high=v / 10, r=0.5, amplitude=8.0 + v / 10))
    runs.append(dict(tau=0, diverged=True, d_kl=np.nan, mse=np.nan, mse_low=np.nan,
                     mse_high=np.nan, r=np.nan, amplitude=np.nan))
    runs.append(dict(tau=10, diverged=False, d_kl=7.0, mse=9.0, mse_low=9.0, mse_high=9.0,
                     r=0.1, amplitude=500.0))  # an amplitude outlier: out of 3B/3C only
    rows = {r["tau"]: r for r in fig3_table(runs, high_cut=1.0)}
    assert rows[0]["n"] == 4 and rows[0]["n_kept_a"] == 3
    assert rows[0]["d_kl"] == pytest.approx(2.0)
    assert rows[0]["d_kl_sem"] == pytest.approx(1.0 / np.sqrt(3))
    assert rows[10]["n_kept_a"] == 4 and rows[10]["d_kl"] == pytest.approx(5.5)
    assert rows[10]["n_kept_bc"] == 3
    total_low = 1 + 2 + 3 + 4 + 5 + 6
    assert rows[0]["low"] == pytest.approx(2.0 / total_low)
    assert rows[10]["high"] == pytest.approx(0.5 / 2.1)


# ---------------------------------------------------------------- recorded data


def test_csv_series_and_the_named_dataset(tmp_path):
    path = tmp_path / "rec.csv"
    path.write_text("# V, n\n1.0,2.0\n3.0,4.5\n\n5,6\n")
    np.testing.assert_array_equal(load_csv_series(path), [[1, 2], [3, 4.5], [5, 6]])
    data = recorded_dataset(str(path), dt=0.25)
    assert data.series.shape == (1, 3, 2) and data.dt == 0.25 and data.n_train == 1
    for text, match in [("1,2\n3\n", "2:.*1 columns"), ("1,2\n3,inf\n", "non-finite"),
                        ("1,a\n2,3\n", "not a row of numbers"), ("1,2\n", "at least 2 rows")]:
        path.write_text(text)
        with pytest.raises(RecordedDataError, match=match):
            load_csv_series(path)
    with pytest.raises(RecordedDataError, match="unknown recorded dataset"):
        recorded_dataset("bursting")
    with pytest.raises(RecordedDataError, match="not found in"):
        recorded_dataset("bursting_neuron_authors", tmp_path)
    shared = ROOT.parent / "shared" / "data"
    if (shared / "bursting_neuron" / "file_01_X.csv").is_file():
        d = recorded_dataset("bursting_neuron_authors", shared)
        assert d.series.shape == (3, 1501, 3) and d.dt == 0.5
        # z-scored with N − 1, as the README of the data says
        np.testing.assert_allclose(d.series.mean(1), 0.0, atol=1e-9)
        np.testing.assert_allclose(d.series.std(1, ddof=1), 1.0, atol=1e-9)


# ---------------------------------------------------------------- the CLI


def _tiny_em(tmp_path, **em):
    rng = np.random.default_rng(0)
    t = np.arange(120)
    x = np.stack([np.sin(t / 6.0), np.cos(t / 6.0)], 1) + 0.05 * rng.normal(size=(120, 2))
    csv = tmp_path / "osc.csv"
    csv.write_text("\n".join(",".join(f"{v:.17g}" for v in row) for row in x) + "\n")
    config = {"name": "tiny_em", "seed": 0,
              "task": {"name": "reconstruction", "data": str(csv)},
              "model": {"name": "rplrnn", "hidden_size": 3},
              "train": {"method": "em"},
              "em": {"tau": 10.0, "sigmas": [1.0, 0.1], "max_iterations": 3, "max_passes": 20,
                     "restarts": 2, **em}}
    path = tmp_path / "em.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, x


def test_em_run_directory_from_the_cli(tmp_path, capsys):
    path, x = _tiny_em(tmp_path)
    run = tmp_path / "run"
    assert main(["train", str(path), "--out", str(run), "--no-progress"]) == 0
    for name in ("config.yaml", "em_trace.json", "models.npz", "fits.csv", "summary.json",
                 "free_run.png"):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["fits"] == 2
    trace = json.loads((run / "em_trace.json").read_text())
    for fit in trace:
        for stage in fit["stages"]:
            assert 2 <= stage["iterations"] <= 3
            assert stage["best_ll"] == pytest.approx(max(stage["ll"]), rel=1e-13)
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    scores = json.loads(capsys.readouterr().out)["fits"]
    best = summary["best_fits"][0]
    again = scores[best["fit"]]
    for k in ("d_stsp", "d_h", "diverged"):
        assert again[k] == best[k]
    # the same config again is refused (one line), and --resume refits identically
    assert main(["train", str(path), "--out", str(run)]) == 2
    assert "already holds a run" in _err(capsys)
    models = np.load(run / "models.npz")["W"].copy()
    stamp = (run / "models.npz").stat().st_mtime_ns
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0  # finished: kept
    assert (run / "models.npz").stat().st_mtime_ns == stamp
    (run / "summary.json").write_text(json.dumps({"status": "running"}))  # as if killed
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0  # fitted again
    np.testing.assert_array_equal(np.load(run / "models.npz")["W"], models)
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


@pytest.mark.parametrize("override, key", [
    ("em.sigmas=[1.0, 0.0]", "em.sigmas[1]"),
    ("em.sigmas=[]", "em.sigmas"),
    ("em.tau=-1", "em.tau"),
    ("em.lam=-2", "em.lam"),
    ("em.max_passes=0", "em.max_passes"),
    ("em.cross_moment=approx", "em.cross_moment"),
    ("em.stage_start=sideways", "em.stage_start"),
    ("em.restarts=0", "em.restarts"),
    ("model.hidden_size=0", "model.hidden_size"),
    ("train.method=newton", "train.method"),
    ("task.name=addition", "train.method"),
])
def test_bad_em_settings_exit_2_naming_the_key(tmp_path, capsys, override, key):
    path, _ = _tiny_em(tmp_path)
    run = tmp_path / "bad"
    assert main(["train", str(path), "--out", str(run), "--set", override]) == 2
    assert f"'{key}'" in _err(capsys)
    assert not run.exists()


def test_non_finite_data_exit_2_and_write_nothing(tmp_path, capsys):
    path, x = _tiny_em(tmp_path)
    csv = tmp_path / "osc.csv"
    lines = csv.read_text().splitlines()
    lines[7] = "0.5,nan"
    csv.write_text("\n".join(lines) + "\n")
    run = tmp_path / "nan"
    assert main(["train", str(path), "--out", str(run)]) == 2
    assert "osc.csv:8: non-finite value in column 2" in _err(capsys)
    assert not run.exists()


def test_fig3_experiment_resumes_with_identical_rows(tmp_path):
    """experiments/fig3_em.py skips finished fits, and a fit run again (its files removed)
    gives the same row."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fig3_em", ROOT / "experiments" / "fig3_em.py")
    fig3 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fig3)
    shared = ROOT.parent / "shared" / "data"
    if not (shared / "bursting_neuron" / "file_01_X.csv").is_file():
        pytest.skip("the authors' bursting-neuron series are not on this machine")
    out = tmp_path / "fig3"
    argv = ["--out", str(out), "--sizes", "2", "--taus", "0", "1000", "--files", "1",
            "--max-iterations", "2", "--max-passes", "10", "--data-dir", str(shared)]
    fig3.main(argv)
    rows = {p.name: json.loads(p.read_text()) for p in (out / "fits" / "em").glob("*.json")}
    assert sorted(rows) == ["M2_tau0_file1.json", "M2_tau1000_file1.json"]
    stamp = (out / "fits" / "em" / "M2_tau0_file1.json").stat().st_mtime_ns
    for suffix in (".json", ".npz"):
        (out / "fits" / "em" / f"M2_tau1000_file1{suffix}").unlink()
    fig3.main(argv)
    assert (out / "fits" / "em" / "M2_tau0_file1.json").stat().st_mtime_ns == stamp  # skipped
    again = json.loads((out / "fits" / "em" / "M2_tau1000_file1.json").read_text())
    before = rows["M2_tau1000_file1.json"]
    for k in before:
        if k != "wall_s":
            assert again[k] == before[k] or (again[k] != again[k] and before[k] != before[k]), k
    assert (out / "results.csv").is_file() and (out / "table.md").is_file()
    assert (out / "fig3.png").is_file()


def test_analyse_points_a_population_to_its_members_and_refuses_an_em_run(tmp_path, capsys):
    path, _ = _tiny_em(tmp_path)
    run = tmp_path / "emrun"
    assert main(["train", str(path), "--out", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["analyse", str(run)]) == 2
    assert "load_em_models" in _err(capsys)
    from jaxrnn.training import load_em_models

    models = load_em_models(run)
    assert models.A.shape == (2, 3)  # two restarts of one series, M = 3
    pop = tmp_path / "pop"
    for name in ("a", "b"):
        (pop / "members" / name).mkdir(parents=True)
        (pop / "members" / name / "config.yaml").write_text("name: x\n")
    assert main(["analyse", str(pop)]) == 2
    line = _err(capsys)
    assert "a population of 2 runs" in line and str(pop / "members" / "a") in line

"""experiments/fig2_benchmarks.py: the grid it learns from the authors' table, the points
it runs, its verdicts and averages, and a tiny resumable run."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import pathlib
import statistics

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_TABLE = ROOT.parent / "shared" / "published" / "fig2_authors_results.md"


@pytest.fixture(scope="module")
def fig2():
    spec = importlib.util.spec_from_file_location(
        "fig2_benchmarks", ROOT / "experiments" / "fig2_benchmarks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def published(fig2, tmp_path_factory):
    return fig2.load_published(tmp_path_factory.mktemp("pub"),
                               ROOT / "experiments" / "fig2" / "published.csv")


def test_the_committed_grid_is_the_authors_table(fig2, tmp_path):
    if not SHARED_TABLE.is_file():
        pytest.skip("the shared folder with the authors' table is not on this machine")
    parsed = fig2.parse_published(SHARED_TABLE)
    with open(ROOT / "experiments" / "fig2" / "published.csv") as f:
        committed = list(csv.DictReader(f))
    assert len(parsed) == len(committed)
    for a, b in zip(parsed, committed):
        assert (a["task"], a["model"], str(a["T"])) == (b["task"], b["model"], b["T"])
        assert a["mean"] == float(b["mean"]) and a["n"] == int(b["n"])


def test_the_required_points_follow_the_issue_rule(fig2, published):
    pts = fig2.required_points(published)
    assert len(pts) == len(set(pts)) == 38
    # longest T with a published mean >= 0.9, shortest below 0.5
    assert {q[2] for q in pts if q[:2] == ("addition", "rnn")} == {20, 40}
    assert {q[2] for q in pts if q[:2] == ("addition", "nprnn")} == {40, 80}  # 60: 0.539
    assert {q[2] for q in pts if q[:2] == ("addition", "irnn")} == {200, 400}
    assert {q[2] for q in pts if q[:2] == ("multiplication", "iplrnn")} == {300, 400}
    # no T reaches 0.9: the shortest published T instead
    assert {q[2] for q in pts if q[:2] == ("multiplication", "plrnn")} == {40, 80}
    assert {q[2] for q in pts if q[:2] == ("addition", "rplrnn")} == {100, 300, 400, 500, 600}
    assert {(q[1], q[3]) for q in pts if q[0] == "mnist"} == {("iplrnn", 1), ("irnn", 1)}
    assert all(q[3] == 3 for q in pts if q[0] != "mnist")


def test_verdicts(fig2):
    ref = {"mean": 0.432, "sem": 0.213, "n": 5}
    assert fig2.verdict(0.0817, 0.0, ref) == "agrees"  # within 2 SEM of a wide point
    assert fig2.verdict(0.995, 0.001, {"mean": 0.9998, "sem": 0.0001, "n": 10}) == \
        "agrees (solved)"
    chance = {"mean": 0.0809, "sem": 0.0001, "n": 6}  # one seed at chance: SEM 0
    assert fig2.verdict(0.0811, 0.0, chance) == "agrees"  # the binomial floor, 2 × 0.0027
    assert fig2.verdict(0.1, 0.0, chance).startswith("misses (+0.0191")


def test_a_point_reports_all_seeds_and_the_authors_convention(fig2, published):
    recs = [{"status": "completed", "best": 0.9, "loss": 0.01, "epochs": 200},
            {"status": "diverged", "best": 0.1, "loss": 0.2, "epochs": 3},
            {"status": "stopped_early", "best": 1.0, "loss": 0.001, "epochs": 40}]
    row = fig2.point_row({"task": "addition", "model": "irnn", "T": 400,
                          "protocol": "authors", "seeds": [0, 1, 2], "records": recs,
                          "wall_s": 1.0}, published)
    assert row["n_seeds"] == 3 and row["n_diverged"] == 1 and row["n_stopped"] == 1
    assert row["mean"] == pytest.approx(2.0 / 3)
    assert row["sem"] == pytest.approx(statistics.stdev([0.9, 0.1, 1.0]) / math.sqrt(3))
    assert row["mean_kept"] == pytest.approx(0.95) and row["n_kept"] == 2
    assert row["published_mean"] == pytest.approx(0.4324) and row["published_n"] == 5
    assert row["verdict"].startswith("misses (+0.5176")  # 0.95 over the two kept


def test_a_point_whose_seeds_all_diverged_is_judged_on_their_best_epochs(fig2, published):
    """As the MNIST iPLRNN at 0.912 (published 0.910 ± 0.006) before it diverged."""
    point = {"task": "mnist", "model": "iplrnn", "T": 784, "protocol": "authors",
             "seeds": [0], "wall_s": 1.0,
             "records": [{"status": "diverged", "best": 0.9125, "loss": 0.25, "epochs": 96}]}
    row = fig2.point_row(point, published)
    assert row["n_kept"] == 0 and math.isnan(row["mean_kept"])
    assert row["verdict"] == "all diverged; best before: agrees"
    assert row["loss_mean"] == 0.25  # its loss bar too: the best epoch before it
    point["records"].append({"status": "completed", "best": 0.9, "loss": 0.4, "epochs": 200})
    assert fig2.point_row(point, published)["loss_mean"] == 0.4  # else: the kept seeds only
    point["records"] = point["records"][:1]
    point["records"][0]["best"] = 0.5
    assert row["verdict"] != fig2.point_row(point, published)["verdict"]
    # one seed against the spread of the 7 runs: 0.0057 √7 = 0.0151, with their SEM
    # 2 √(0.0151² + 0.0057²) = 0.0322
    assert fig2.point_row(point, published)["verdict"] == \
        "all diverged; best before: misses (-0.4097, tol 0.0322)"
    # addition iRNN T = 400: every seed's first epoch was already inf
    nan = {"status": "diverged", "best": math.nan, "loss": math.nan, "epochs": 1}
    row = fig2.point_row({"task": "addition", "model": "irnn", "T": 400, "protocol": "authors",
                          "seeds": [0, 1, 2], "wall_s": 1.0, "records": [nan] * 3}, published)
    assert row["verdict"] == "all diverged in their first epoch" and row["n_diverged"] == 3


def test_one_seed_is_judged_against_the_spread_of_the_authors_runs(fig2, published):
    """MNIST iRNN: one seed at 0.828 against 0.750 ± 0.028 over 7 runs (0.661 to
    0.819): 1.04 run standard deviations above their mean, which agrees; 2 SEM would not."""
    rec = {"status": "completed", "best": 0.8281, "loss": 0.5, "epochs": 200}
    point = {"task": "mnist", "model": "irnn", "T": 784, "protocol": "authors",
             "seeds": [0], "wall_s": 1.0, "records": [rec]}
    row = fig2.point_row(point, published)
    assert row["sem_kept"] == 0.0 and row["verdict"] == "agrees"
    assert fig2.verdict(0.8281, 0.0, {"mean": row["published_mean"],
                                      "sem": row["published_sem"], "n": 7}).startswith("misses")
    point["records"] = [rec, {**rec, "best": 0.9}]  # two seeds: their own SEM
    assert fig2.point_row(point, published)["verdict"].startswith("misses")


def test_a_tiny_point_runs_as_one_population_and_is_skipped_when_done(fig2, tmp_path):
    argv = ["--out", str(tmp_path), "--only", "addition_rnn_T20",
            "--published", str(ROOT / "experiments" / "fig2" / "published.csv"),
            "--set", "train.epochs=1", "--set", "task.n_train=1000",
            "--set", "task.n_test=500"]
    assert fig2.main(argv) == 0
    with open(tmp_path / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and rows[0]["n_seeds"] == "3" and rows[0]["published_n"] == "10"
    members = sorted(p.name for p in
                     (tmp_path / "populations" / "authors" / "addition_rnn_T20" /
                      "members").iterdir())
    assert members == ["seed0", "seed1", "seed2"]
    assert (tmp_path / "fig2.png").is_file()
    before = (tmp_path / "points.jsonl").read_text()
    assert fig2.main(argv) == 0  # done: skipped, the report rewritten
    assert (tmp_path / "points.jsonl").read_text() == before


def test_a_point_another_runner_is_training_is_skipped(fig2, tmp_path, capsys):
    from test_training import lock_held_by_another_process

    argv = ["--out", str(tmp_path), "--only", "addition_rnn_T20",
            "--published", str(ROOT / "experiments" / "fig2" / "published.csv")]
    pop = tmp_path / "populations" / "authors" / "addition_rnn_T20"
    with lock_held_by_another_process(pop) as pid:
        assert fig2.main(argv) == 0
    out = capsys.readouterr().out
    assert f"[busy] addition_rnn_T20: {pop} is in use by another process (pid {pid})" in out
    assert not (tmp_path / "points.jsonl").exists() and not (pop / "population.yaml").exists()


def test_each_protocol_configures_what_the_authors_ran(fig2):
    """``authors``: the baselines initialised as the authors' code, the L2RNN without its
    penalty, the LSTM at 40 units and 500 epochs, μ₀ learned by the PLRNN family only;
    ``authors_jaxrnn_init``: jaxrnn's own baselines; every override is a valid config."""
    from jaxrnn.training import load_config

    configs = {}
    for protocol in ("authors", "authors_jaxrnn_init", "shipped"):
        for model in ("rnn", "l2rnn", "nprnn", "lstm", "plrnn", "iplrnn"):
            configs[protocol, model] = load_config(
                fig2.ROOT / "configs" / f"addition_{model}.yaml",
                fig2.protocol_overrides(model, protocol))
    a = {m: configs["authors", m].model for m in ("rnn", "l2rnn", "nprnn", "lstm", "plrnn",
                                                  "iplrnn")}
    assert all(a[m].init == "authors" for m in ("rnn", "l2rnn", "nprnn", "lstm"))
    assert a["l2rnn"].l2 == 0 and a["lstm"].lstm_units == 40
    assert configs["authors", "lstm"].train.epochs == 500
    assert a["plrnn"].init is None and a["iplrnn"].init is None  # their own defaults
    assert a["plrnn"].learn_z0 is True and a["rnn"].learn_z0 is None
    j = {m: configs["authors_jaxrnn_init", m].model for m in ("rnn", "l2rnn", "lstm")}
    assert j["rnn"].init is None and j["l2rnn"].l2 > 0 and j["lstm"].lstm_units == 40
    assert configs["shipped", "lstm"].model.lstm_units is None


def test_started_points_run_first_then_the_plan_order(fig2, published, tmp_path):
    """A point with a population directory but no row (interrupted, or carried over in
    git) resumes before any new point starts; finished points are left out."""
    plan = sorted(fig2.required_points(published), key=lambda q: fig2.cost(q, "authors"))
    first, finished, started = plan[0], plan[1], plan[-1]
    (tmp_path / "points.jsonl").write_text(
        '{"task": "%s", "model": "%s", "T": %d, "protocol": "authors"}\n' % finished[:3])
    assert fig2.run_order(plan, tmp_path, "authors")[:2] == [first, plan[2]]
    pop = tmp_path / "populations" / "authors" / fig2.name(*started[:3])
    pop.mkdir(parents=True)
    (pop / "population.yaml").write_text("{}")
    order = fig2.run_order(plan, tmp_path, "authors")
    assert order[0] == started and order[1] == first
    assert finished not in order and len(order) == len(plan) - 1
    assert fig2.run_order(plan, tmp_path, "shipped")[0] == first  # another protocol's dir


def test_a_shipped_lstm_point_stands_in_for_the_authors_one_in_the_required_subset(
        fig2, published, tmp_path):
    """The issue's rule for the LSTM: the authors' 40-unit, 500-epoch point if the time
    allows, else the shipped protocol, labelled. A shipped row closes the required point
    for the default command only; --all/--only (lstm_substitute off) still run it, and
    a shipped row of another model closes nothing."""
    plan = sorted(fig2.required_points(published), key=lambda q: fig2.cost(q, "authors"))
    lstm = next(q for q in plan if q[1] == "lstm")
    other = next(q for q in plan if q[1] == "rnn")
    (tmp_path / "points.jsonl").write_text("".join(
        json.dumps({"task": q[0], "model": q[1], "T": q[2], "protocol": "shipped"}) + "\n"
        for q in (lstm, other)))
    assert fig2.lstm_substitutes(plan, tmp_path, "authors") == [lstm]
    assert fig2.lstm_substitutes(plan, tmp_path, "shipped") == []
    order = fig2.run_order(plan, tmp_path, "authors", lstm_substitute=True)
    assert lstm not in order and other in order and len(order) == len(plan) - 1
    assert lstm in fig2.run_order(plan, tmp_path, "authors")

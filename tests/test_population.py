"""Population training: many models in one vmapped program equal separate runs."""

import json

import numpy as np
import pytest
from test_training import lock_held_by_another_process

from jaxrnn.training import (
    ConfigError,
    RunInUse,
    Trainer,
    config_from_dict,
    population_configs,
    train,
    train_population,
)
from jaxrnn.training._checkpoint import load_tree

BASE = {"name": "pop", "seed": 0,
        "task": {"name": "addition", "T": 20, "n_train": 192, "n_test": 96},
        "model": {"name": "rplrnn", "hidden_size": 6, "tau": 1.0},
        "train": {"batch_size": 32, "epochs": 2, "learning_rate": 3e-3, "chunk_steps": 4,
                  "eval_batch_size": 48, "dtype": "float64", "schedule": "cosine"}}

CHANGES = [{"seed": 0, "model.tau": 0.0},
           {"seed": 1, "model.tau": 5.0},
           {"seed": 0, "model.tau": 5.0, "train.learning_rate": 1e-2},
           {"seed": 2, "model.reg_fraction": 0.25, "model.tau_A": 2.0}]


def _leaves(tree):
    import jax

    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def test_population_of_four_equals_four_separate_runs(tmp_path):
    base = config_from_dict(BASE)
    summaries = train_population(base, CHANGES, tmp_path / "pop", progress=False)
    members = population_configs(base, CHANGES)
    assert [m.seed for m in members] == [0, 1, 0, 2]
    assert all(m.task.seed == 0 for m in members)
    for i, member in enumerate(members):
        single = train(member, tmp_path / f"single{i}", progress=False)
        mdir = tmp_path / "pop" / "members" / member.name
        template = Trainer(member).member_params()
        a = load_tree(mdir / "best.eqx", template)
        b = load_tree(tmp_path / f"single{i}" / "best.eqx", template)
        for x, y in zip(_leaves(a), _leaves(b)):
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12)
        assert max(np.max(np.abs(x - y)) for x, y in zip(_leaves(a), _leaves(template))) > 1e-3
        pop_lines = [json.loads(x) for x in (mdir / "metrics.jsonl").read_text().splitlines()]
        one_lines = [json.loads(x) for x in
                     (tmp_path / f"single{i}" / "metrics.jsonl").read_text().splitlines()]
        for p, o in zip(pop_lines, one_lines):
            np.testing.assert_allclose(p["test_loss"], o["test_loss"], rtol=1e-9)
            np.testing.assert_allclose(p["train_loss"], o["train_loss"], rtol=1e-9)
            np.testing.assert_allclose(p["regulariser"], o["regulariser"], rtol=1e-9, atol=1e-15)
        assert summaries[i]["best_epoch"] == single["best_epoch"]
    rows = (tmp_path / "pop" / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + len(CHANGES) and rows[0].startswith("member,seed,model.tau")


def test_members_really_differ(tmp_path):
    base = config_from_dict(BASE)
    trainer = Trainer(base, members=population_configs(base, CHANGES))
    first = trainer.epoch_batches(0)
    assert first.shape[1] == 4
    np.testing.assert_array_equal(first[:, 0], first[:, 2])  # same seed, same batches
    assert not np.array_equal(first[:, 0], first[:, 1])
    hyper = trainer.init_state().hyper
    np.testing.assert_allclose(np.asarray(hyper.tau_W), [0.0, 5.0, 5.0, 1.0])
    np.testing.assert_allclose(np.asarray(hyper.tau_A), [0.0, 5.0, 5.0, 2.0])
    np.testing.assert_array_equal(np.asarray(hyper.n_reg), [3, 3, 3, 2])


def test_population_resume_matches_uninterrupted(tmp_path):
    base = config_from_dict(BASE)
    train_population(base, CHANGES[:2], tmp_path / "full", progress=False)
    train_population(base, CHANGES[:2], tmp_path / "part", progress=False, stop_after_epochs=1)
    with lock_held_by_another_process(tmp_path / "part") as pid:  # refused, not interleaved
        with pytest.raises(RunInUse, match=f"pid {pid}"):
            train_population(None, None, tmp_path / "part", resume=True, progress=False)
    train_population(None, None, tmp_path / "part", resume=True, progress=False)
    for name in ("pop-000", "pop-001"):
        a = (tmp_path / "full" / "members" / name / "best.eqx").read_bytes()
        b = (tmp_path / "part" / "members" / name / "best.eqx").read_bytes()
        assert a == b


def test_a_member_that_diverges_stops_alone(tmp_path):
    base = config_from_dict(BASE)
    summaries = train_population(base, [{"train.learning_rate": 3e-3},
                                        {"train.learning_rate": 1e30}], tmp_path / "p",
                                 progress=False)
    assert summaries[0]["status"] == "completed"
    assert summaries[1]["status"] == "diverged"
    assert "non-finite training loss" in summaries[1]["message"]
    import csv

    with open(tmp_path / "p" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["completed", "diverged"]
    assert summaries[0]["epochs_completed"] == 2
    # the survivor trained on as if alone
    members = population_configs(base, [{"train.learning_rate": 3e-3}])
    train(members[0], tmp_path / "alone", progress=False)
    template = Trainer(members[0]).member_params()
    a = load_tree(tmp_path / "p" / "members" / "pop-000" / "best.eqx", template)
    b = load_tree(tmp_path / "alone" / "best.eqx", template)
    for x, y in zip(_leaves(a), _leaves(b)):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12)


def test_members_stop_early_on_their_own_and_resume_keeps_them_stopped(tmp_path):
    base = config_from_dict({**BASE, "train": {**BASE["train"], "epochs": 3}})
    changes = [{"train.learning_rate": 3e-3}, {"train.learning_rate": 3e-3, "seed": 1}]
    part = train_population(base, changes, tmp_path / "p", progress=False,
                            stop_after_epochs=1)
    assert [s["status"] for s in part] == ["interrupted"] * 2
    # member 1 alone gets a stop_at target it already meets: edit the saved spec
    import yaml

    spec = yaml.safe_load((tmp_path / "p" / "population.yaml").read_text())
    spec["base"]["train"]["stop_at"] = 0.001
    (tmp_path / "p" / "population.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    out = train_population(None, None, tmp_path / "p", resume=True, progress=False)
    assert [s["status"] for s in out] == ["stopped_early"] * 2
    assert [s["epochs_completed"] for s in out] == [2, 2]
    again = train_population(None, None, tmp_path / "p", resume=True, progress=False)
    assert [s["status"] for s in again] == ["stopped_early"] * 2


@pytest.mark.parametrize("change, key", [
    ({"model.hidden_size": 8}, "model.hidden_size"),
    ({"train.batch_size": 16}, "train.batch_size"),
    ({"task.T": 30}, "task.T"),
])
def test_members_must_share_shapes(change, key):
    base = config_from_dict(BASE)
    with pytest.raises(ConfigError, match=f"config key '{key}'"):
        Trainer(base, members=population_configs(base, [{}, change]))

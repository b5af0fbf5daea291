"""Every CLI error path: exit code and exactly one line naming what is wrong."""

import pathlib

import pytest
import yaml

from jaxrnn.cli import main
from jaxrnn.training import config_from_dict, train

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = {"name": "tiny", "seed": 0,
        "task": {"name": "addition", "T": 20, "n_train": 64, "n_test": 32},
        "model": {"name": "rplrnn", "hidden_size": 4},
        "train": {"batch_size": 32, "epochs": 1, "chunk_steps": 2, "eval_batch_size": 32}}


def _err(capsys):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("jaxrnn: error: ")
    return lines[0]


@pytest.mark.parametrize("override, key", [
    ("train.learning_rate=.inf", "train.learning_rate"),
    ("train.learning_rate=.nan", "train.learning_rate"),
    ("train.optimizer=adamx", "train.optimizer"),
    ("train.schedule=linear", "train.schedule"),
    ("train.decay_rate=0", "train.decay_rate"),
    ("train.clip_norm=0", "train.clip_norm"),
    ("train.dtype=float16", "train.dtype"),
    ("train.chunk_steps=0", "train.chunk_steps"),
    ("train.batch_size=100000", "train.batch_size"),
    ("train.abort_patience=0", "train.abort_patience"),
    ("train.abort_loss=-1", "train.abort_loss"),
    ("train.stop_at=1.5", "train.stop_at"),
    ("train.patience=0", "train.patience"),
    ("model.name=lstm", "model.hidden_size"),
    ("model.lstm_units=40", "model.lstm_units"),
    ("model.init=glorot", "model.init"),
    ("task.T.x=3", "task.T.x"),
    ("task.T=", "task.T"),
])
def test_bad_settings_exit_2_with_one_line_naming_the_key(tmp_path, capsys, override, key):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(TINY))
    extra = ["--set", "model.hidden_size=3"] if key == "model.hidden_size" else []
    assert main(["train", str(config), "--set", override, *extra,
                 "--out", str(tmp_path / "r")]) == 2
    assert f"'{key}'" in _err(capsys)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv, words", [
    (["train"], "needs a CONFIG"),
    (["train", "CFG", "--resume", "RUN"], "--resume continues a run"),
    (["train", "--resume", "RUN", "--set", "train.epochs=2"], "--resume continues a run"),
    (["train", "CFG", "--set", "train.epochs"], "--set expects key.path=value"),
    (["train", "LIST"], "expected a mapping at the top level"),
    (["analyse", "RUN", "--max-order", "0"], "--max-order must be >= 1"),
    (["evaluate", "NORUN"], "not a run directory"),
    (["train", "--resume", "NORUN"], "not a run directory"),
])
def test_cli_misuse_exits_2_with_one_line(tmp_path, capsys, argv, words):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(TINY))
    (tmp_path / "l.yaml").write_text("- 1\n- 2\n")
    subs = {"CFG": str(config), "RUN": str(tmp_path / "run"), "LIST": str(tmp_path / "l.yaml"),
            "NORUN": str(tmp_path / "missing")}
    assert main([subs.get(a, a) for a in argv]) == 2
    assert words in _err(capsys)


def test_evaluate_last_checkpoint_and_missing_best(tmp_path, capsys):
    run = tmp_path / "run"
    train(config_from_dict(TINY), run, progress=False)
    assert main(["evaluate", str(run), "--checkpoint", "last"]) == 0
    capsys.readouterr()
    (run / "best.eqx").unlink()
    assert main(["evaluate", str(run)]) == 2
    assert "best.eqx" in _err(capsys)


def test_an_internal_error_is_one_line_and_debug_shows_the_traceback(tmp_path, capsys,
                                                                     monkeypatch):
    import jaxrnn.training

    def broken(*args, **kwargs):
        raise RuntimeError("something inside broke")

    monkeypatch.setattr(jaxrnn.training, "train", broken)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(TINY))
    assert main(["train", str(config), "--out", str(tmp_path / "r")]) == 1
    line = _err(capsys)
    assert "internal error: RuntimeError: something inside broke" in line and "--debug" in line
    assert main(["--debug", "train", str(config), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("jaxrnn: error:")


def test_set_overrides_name_the_default_run_directory(tmp_path, capsys, monkeypatch):
    """Two variants of one config with different --set values do not collide."""
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    assert main(["train", str(cfg), "--no-progress", "--set", "seed=1"]) == 0
    assert main(["train", str(cfg), "--no-progress", "--set", "seed=2",
                 "--set", "train.epochs=1"]) == 0
    assert (tmp_path / "runs" / "tiny+seed=1" / "summary.json").is_file()
    assert (tmp_path / "runs" / "tiny+seed=2+train.epochs=1" / "summary.json").is_file()
    assert main(["train", str(cfg), "--no-progress", "--set", "seed=1"]) == 2  # no overwrite
    assert "already holds a run" in capsys.readouterr().err

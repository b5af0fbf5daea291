"""The config reference is generated from the config classes: every field of every
config class has a description, and the reference lists every key a config file accepts."""

from __future__ import annotations

import dataclasses

from jaxrnn.training import (
    Config,
    ForcingConfig,
    ModelConfig,
    TaskConfig,
    TrainConfig,
    config_keys,
    config_reference,
    config_to_dict,
)


def test_every_config_field_has_a_description():
    from jaxrnn.sweeps import SweepSpec

    for cls in (Config, TaskConfig, ModelConfig, TrainConfig, ForcingConfig, SweepSpec):
        for f in dataclasses.fields(cls):
            assert len(f.metadata.get("doc", "")) > 10, f"{cls.__name__}.{f.name}"


def test_the_reference_lists_every_key_a_config_accepts():
    def flat(d, prefix=""):
        for k, v in d.items():
            yield from flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [prefix + k]

    accepted = set(flat(config_to_dict(Config())))
    listed = {k for k, *_ in config_keys()}
    assert listed == accepted
    text = config_reference()
    assert all(f"`{k}`" in text for k in accepted)
    assert "`train.schedule` | `str` | `constant` |" in text and "warmup_cosine" in text


def test_the_sweep_reference_lists_every_key_a_sweep_file_accepts():
    from jaxrnn.sweeps._sweep_checks import TOP_KEYS
    from jaxrnn.sweeps import sweep_keys

    assert {k for k, *_ in sweep_keys()} == TOP_KEYS

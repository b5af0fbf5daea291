"""Populations: many configs that differ only in settings that keep array shapes, trained
as one vmapped program (see `Trainer`). Which keys may differ, the check that nothing else
does, building the member configs, and stacking / slicing the members' trees."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from ._config import Config, ConfigError
from ._config_loading import apply_overrides, config_from_dict, config_to_dict

__all__ = [
    "POPULATION_KEYS",
    "check_population",
    "population_configs",
    "stack_members",
    "member_slice",
]

# Settings that may differ between the members of one population (dotted config keys).
POPULATION_KEYS = (
    "name",
    "seed",
    "model.tau",
    "model.tau_A",
    "model.tau_W",
    "model.tau_h",
    "model.reg_fraction",
    "model.n_regularised",
    "train.learning_rate",
    "forcing.alpha",
)
"""The config keys that may differ between the members of one population."""


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def check_population(configs: Sequence[Config]) -> None:
    """Raise `ConfigError` naming the first key (outside `POPULATION_KEYS`) that differs."""
    base = _flat(config_to_dict(configs[0]))
    for i, c in enumerate(configs[1:], 1):
        other = _flat(config_to_dict(c))
        for key, value in base.items():
            if key not in POPULATION_KEYS and other[key] != value:
                raise ConfigError(
                    f"config key '{key}': population members must share it (member 0 has "
                    f"{value!r}, member {i} has {other[key]!r}); only "
                    f"{', '.join(POPULATION_KEYS[1:])} may vary"
                )
    data_seeds = {c.data_seed for c in configs}
    if len(data_seeds) > 1:
        raise ConfigError(
            "config key 'task.seed': population members share one data set; "
            "set task.seed when the members' seeds differ"
        )


def stack_members(trees: Sequence[Any]):
    """Stack the members' trees on a new leading axis."""
    leaves = [jax.tree_util.tree_leaves(t) for t in trees]
    treedef = jax.tree_util.tree_structure(trees[0])
    return treedef.unflatten([jnp.stack(ls) for ls in zip(*leaves)])


def member_slice(tree: Any, i: int):
    """Member i of a stacked tree."""
    return jax.tree_util.tree_map(lambda x: x[i], tree)


def population_configs(base: Config, changes: Sequence[dict]) -> list[Config]:
    """Member configs: ``base`` with each dict of dotted-key changes applied; the data
    seed is pinned to the base's so that the members share one data set.

    **Arguments:**

    - `base`: the shared config.
    - `changes`: one dict of dotted keys per member (only `POPULATION_KEYS`).

    **Returns:**

    The member configs, in order. Raises `ConfigError` for a key that may not vary.
    """
    members = []
    data_seed = base.data_seed
    for i, change in enumerate(changes):
        raw = config_to_dict(dataclasses.replace(base, name=f"{base.name}-{i:03d}"))
        raw["task"]["seed"] = data_seed
        overrides = [f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in change.items()]
        members.append(config_from_dict(apply_overrides(raw, overrides)))
    return members

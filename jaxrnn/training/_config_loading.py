"""Loading a training config: YAML → checked types → the dataclass tree → validation.

Every error is a `ConfigError` with one line that names the offending key,
e.g. ``config key 'train.learning_rate': must be > 0, got -0.1``. The CLI turns
it into exit code 2 before anything is written.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import types
import typing
from collections.abc import Sequence

import yaml

from .._config_files import read_yaml_mapping
from ._config import (
    Config,
    ConfigError,
)
from ._config_checks import validate

__all__ = [
    "load_config",
    "config_from_dict",
    "config_to_dict",
    "apply_overrides",
    "read_yaml_mapping",
]


def _as_bool(value):
    return value if isinstance(value, bool) else None


def _as_int(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, float) and value.is_integer() else None


def _as_float(value):
    if isinstance(value, bool):
        return None
    try:  # YAML 1.1 reads "1e-3" as a string
        return float(value) if isinstance(value, (int, float, str)) else None
    except ValueError:
        return None


def _as_str(value):
    return value if isinstance(value, str) else None


_SCALARS = {bool: _as_bool, int: _as_int, float: _as_float, str: _as_str}


def _check_union(value, options, key):
    if value is None and type(None) in options:
        return None
    for option in options:
        if option is type(None):
            continue
        try:
            return _check_type(value, option, key)
        except ConfigError:
            pass
    names = " or ".join("null" if o is type(None) else o.__name__ for o in options)
    raise ConfigError(f"config key '{key}': expected {names}, got {value!r}")


def _check_type(value, annotation, key):
    """``value`` as the config field's type (``int | None``, ``list[float]``, …), or a
    `ConfigError` naming ``key``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return _check_union(value, typing.get_args(annotation), key)
    if origin is list:
        (item,) = typing.get_args(annotation)
        if not isinstance(value, list) or not value:
            raise ConfigError(f"config key '{key}': expected a non-empty list, got {value!r}")
        return [_check_type(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    converted = _SCALARS[annotation](value) if annotation in _SCALARS else None
    if converted is None:
        raise ConfigError(f"config key '{key}': expected {annotation.__name__}, got {value!r}")
    if annotation is float and not math.isfinite(converted):
        raise ConfigError(f"config key '{key}': must be a finite number, got {value!r}")
    return converted


def _build(cls, raw, prefix):
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config key '{prefix.rstrip('.') or '<root>'}': expected a mapping")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for k in raw:
        if k not in names:
            raise ConfigError(
                f"unknown config key '{prefix}{k}' (known: {', '.join(sorted(names))})"
            )
    values = {}
    for f in dataclasses.fields(cls):
        key = prefix + f.name
        if f.name not in raw:
            continue
        annotation = hints[f.name]
        if dataclasses.is_dataclass(annotation):
            values[f.name] = _build(annotation, raw[f.name], key + ".")
        else:
            values[f.name] = _check_type(raw[f.name], annotation, key)
    return cls(**values)


def config_from_dict(raw: dict) -> Config:
    """A validated `Config` from a plain dict (as read from YAML).

    **Arguments:**

    - `raw`: the nested dict (``{"task": {...}, "model": {...}, "train": {...}}``);
      missing keys take their defaults (see the config reference).

    **Returns:**

    The `Config`. Raises `ConfigError` naming the offending key.
    """
    return validate(_build(Config, raw, ""))


def config_to_dict(config: Config) -> dict:
    """The plain nested dict of a config (what ``config.yaml`` in a run directory holds).

    **Arguments:**

    - `config`: the `Config`.

    **Returns:**

    A dict that `config_from_dict` turns back into an equal `Config`.
    """
    return dataclasses.asdict(config)


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``key.path=value`` overrides (values parsed as YAML) to a raw config dict.

    **Arguments:**

    - `raw`: the raw config dict (not changed).
    - `overrides`: strings ``"section.key=value"``, e.g. ``"task.T=400"``,
      ``"train.stop_at=0.99"``, ``"model.init=null"``.

    **Returns:**

    A new dict with the overrides applied. Raises `ConfigError` for an override
    without ``=`` or a key that does not exist.
    """
    raw = dict(raw or {})
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set expects key.path=value, got {item!r}")
        path, text = item.split("=", 1)
        keys = path.strip().split(".")
        node = raw
        for k in keys[:-1]:
            child = node.get(k)
            child = {} if child is None else dict(child) if isinstance(child, dict) else child
            if not isinstance(child, dict):
                raise ConfigError(f"config key '{path}': '{k}' is not a section")
            node[k] = child
            node = child
        try:
            node[keys[-1]] = yaml.safe_load(text)
        except yaml.YAMLError as e:
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise ConfigError(
                f"config key '{path.strip()}': --set value {text!r} is not valid YAML ({problem})"
            ) from None
    return raw


def load_config(path: str | pathlib.Path, overrides: Sequence[str] = ()) -> Config:
    """Read, override and validate a YAML config file.

    **Arguments:**

    - `path`: the YAML file.
    - `overrides`: ``"section.key=value"`` strings applied before validation (as
      ``--set`` on the command line).

    **Returns:**

    The `Config`. Raises `ConfigError` naming the file and the offending key.
    """
    return config_from_dict(apply_overrides(read_yaml_mapping(path), list(overrides)))

"""The rules of a sweep file's top level (its keys, kind, name, base, sections and
heatmap); each violation is one `SweepError` naming the key."""

from __future__ import annotations

import pathlib
from typing import Any

from .._config_files import ConfigError

__all__ = [
    "KINDS",
    "TOP_KEYS",
    "SweepError",
    "number",
    "check_kind_name_base",
    "check_sections",
    "check_heatmap",
]

KINDS = ("system", "training")
TOP_KEYS = {
    "name",
    "kind",
    "base",
    "measure",
    "set",
    "axes",
    "outputs",
    "heatmap",
    "chunk_size",
    "memory_budget",
    "dtype",
}


class SweepError(ConfigError):
    """A sweep file that cannot be run; the message names the offending key."""


def number(value, where: str) -> float:
    """``value`` as a float, or a `SweepError` naming the key ``where``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SweepError(f"sweep key '{where}': expected a number, got {value!r}")
    try:
        return float(value)
    except ValueError:
        raise SweepError(f"sweep key '{where}': expected a number, got {value!r}") from None


def check_kind_name_base(raw: dict, path: pathlib.Path | None) -> tuple[str, str, Any]:
    """The known top-level keys, the required ones, and (kind, name, base)."""
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise SweepError(f"unknown sweep key '{unknown[0]}' (known: {', '.join(sorted(TOP_KEYS))})")
    for key in ("kind", "base", "axes"):
        if key not in raw:
            raise SweepError(f"sweep key '{key}': missing")
    kind = raw["kind"]
    if kind not in KINDS:
        raise SweepError(f"sweep key 'kind': must be one of {', '.join(KINDS)}, got {kind!r}")
    name = raw.get("name", path.stem if path else "sweep")
    if not isinstance(name, str) or not name:
        raise SweepError(f"sweep key 'name': expected a non-empty string, got {name!r}")
    base = raw["base"]
    if kind == "system" and not isinstance(base, dict):
        raise SweepError("sweep key 'base': a system sweep needs a mapping (model: ctrnn, ...)")
    if kind == "training" and not isinstance(base, str):
        raise SweepError("sweep key 'base': a training sweep needs the path of a config file")
    if not isinstance(raw["axes"], dict) or not raw["axes"]:
        raise SweepError("sweep key 'axes': expected a non-empty mapping of axis name to values")
    return kind, name, base


def check_sections(raw: dict, kind: str) -> None:
    """``measure``, ``set`` and ``heatmap`` are mappings, each where its kind has it."""
    for key in ("measure", "set", "heatmap"):
        if key in raw and not isinstance(raw[key], dict):
            raise SweepError(f"sweep key '{key}': expected a mapping, got {raw[key]!r}")
    if kind == "training" and "measure" in raw:
        raise SweepError(
            "sweep key 'measure': only system sweeps have one (training sweeps "
            "report the runs' best metrics)"
        )
    if kind == "system" and "set" in raw:
        raise SweepError(
            "sweep key 'set': only training sweeps have one (put system settings in 'base')"
        )


def check_heatmap(heatmap: dict | None, axes: dict) -> dict | None:
    """The heatmap settings: known keys, a numeric vmax, x and y among the axes."""
    if heatmap is None:
        return None
    for k in heatmap:
        if k not in ("x", "y", "value", "log", "vmax", "contour"):
            raise SweepError(
                f"unknown sweep key 'heatmap.{k}' (known: x, y, value, log, vmax, contour)"
            )
    if "vmax" in heatmap:
        number(heatmap["vmax"], "heatmap.vmax")
    for k in ("x", "y"):
        if k in heatmap and heatmap[k] not in axes:
            raise SweepError(
                f"sweep key 'heatmap.{k}': {heatmap[k]!r} is not an axis ({', '.join(axes)})"
            )
    return heatmap

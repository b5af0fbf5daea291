"""Command-line overrides of a training sweep's base config (``jaxrnn sweep --set``)."""

from __future__ import annotations

import dataclasses

import yaml

from ._sweep_file import SweepError, SweepSpec

__all__ = ["with_overrides"]


def with_overrides(spec: SweepSpec, overrides: list[str]) -> SweepSpec:
    """A training sweep with ``key.path=value`` overrides (values parsed as YAML) added to
    its ``set:``; later ones win.

    **Arguments:**

    - `spec`: the `SweepSpec`.
    - `overrides`: strings ``"section.key=value"``.

    **Returns:**

    A new `SweepSpec`. Raises `SweepError` for a system sweep or an override without
    ``=``.
    """
    if spec.kind != "training":
        raise SweepError(
            f"sweep {spec.name!r}: --set overrides a training sweep's base config; put system "
            "settings in the file's 'base'"
        )
    changes = dict(spec.set)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise SweepError(f"--set expects key.path=value, got {item!r}")
        changes[key.strip()] = yaml.safe_load(text)
    return dataclasses.replace(spec, set=changes)

"""What the training configs and the sweep files share: the base of their one-line
errors, the docstring their dataclass fields write, reading a YAML mapping, and how a
reference shows a default. Private to the package (both ``training`` and ``sweeps`` read
it; neither imports the other for it)."""

from __future__ import annotations

import dataclasses
import inspect
import os
import pathlib

import yaml

__all__ = ["ConfigError", "document_fields", "read_yaml_mapping", "default_text"]


class ConfigError(ValueError):
    """A config value that is unknown, of the wrong type or impossible."""


def document_fields(cls):
    """Appends to a config dataclass's docstring an ``**Arguments:**`` list built from its
    fields' descriptions and defaults, so that the API reference and the config reference
    (``config_reference``) read the same text and cannot drift apart."""
    lines = []
    for f in dataclasses.fields(cls):
        shown = f.default is not dataclasses.MISSING and "default" not in f.metadata["doc"]
        default = f" (default `{f.default!r}`)" if shown else ""
        lines.append(f"- `{f.name}`: {f.metadata['doc']}{default}.")
    doc = inspect.cleandoc(cls.__doc__ or "")
    cls.__doc__ = doc + "\n\n**Arguments:**\n\n" + "\n".join(lines) + "\n"
    return cls


def read_yaml_mapping(
    path: str | os.PathLike[str], what: str = "config", error=ConfigError
) -> dict:
    """A YAML file's top-level mapping ({} if empty); one-line ``error``s otherwise."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise error(f"{what} file {path}: not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what_wrong = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise error(f"{what} file {path}{where}: invalid YAML ({what_wrong})") from None
    if raw is not None and not isinstance(raw, dict):
        raise error(f"{what} file {path}: expected a mapping at the top level")
    return raw or {}


def default_text(f: dataclasses.Field) -> str:
    """A field's default as the references show it."""
    if f.default is dataclasses.MISSING:
        return "(a section)" if f.default_factory is not dataclasses.MISSING else "(required)"
    return "null" if f.default is None else repr(f.default).replace("'", "")

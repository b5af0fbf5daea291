"""Griffe extension of the API reference: a config dataclass decorated with
``jaxrnn.training._config.document_fields`` gets its docstring from the running class,
where the decorator appended an **Arguments:** list of its fields' descriptions (the
same text the config reference shows), so the two references cannot drift apart."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from typing import Any

import griffe


class RuntimeFieldDocs(griffe.Extension):
    def on_class_instance(self, *, node: Any, cls: griffe.Class, agent: Any, **kwargs: Any):
        try:
            obj = getattr(importlib.import_module(cls.module.path), cls.name)
        except (ImportError, AttributeError):
            return
        if not dataclasses.is_dataclass(obj) or cls.docstring is None:
            return
        if all("doc" in f.metadata for f in dataclasses.fields(obj)):
            cls.docstring.value = inspect.cleandoc(obj.__doc__ or "")

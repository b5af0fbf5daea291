"""Every public name (``jaxrnn.__all__`` and each subpackage's ``__all__``) has a
docstring in the package's one format: a summary, an ``**Arguments:**`` list naming
each argument of its signature with a non-empty description, and for functions that
return something a ``**Returns:**`` paragraph. The API reference is generated from
these docstrings, so this is the test that it describes every argument."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

PACKAGES = ["jaxrnn"] + [
    f"jaxrnn.{m}"
    for m in (
        "analysis", "em", "metrics", "models", "plot", "sweeps", "systems", "tasks", "training"
    )
]


def _public():
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.ismodule(obj):
                continue
            yield f"{pkg}.{name}", obj


def _documented_arguments(doc: str) -> dict[str, str]:
    """``- ``a``: text`` or ``- ``a, b``: text`` bullets of the Arguments section."""
    section = doc.split("**Arguments:**", 1)[1].split("**Returns:**", 1)[0]
    out: dict[str, str] = {}
    for m in re.finditer(r"^\s*- `{1,2}([^`]+)`{1,2}:(.*(?:\n(?!\s*- `|\s*\*\*).*)*)",
                         section, re.M):
        for name in m.group(1).split(","):
            out[name.strip().lstrip("*")] = m.group(2).strip()
    return out


def _parameters(obj) -> list[str]:
    if inspect.isclass(obj):
        if issubclass(obj, BaseException) and "__init__" not in vars(obj):
            return []
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            return []
    else:
        sig = inspect.signature(obj)
    return [p.name for p in sig.parameters.values() if p.name not in ("self", "cls")]


def _doc(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj) and "__init__" in vars(obj) and vars(obj)["__init__"].__doc__:
        doc += "\n\n" + inspect.cleandoc(vars(obj)["__init__"].__doc__)
    return doc


PUBLIC = sorted(dict(_public()).items())


def test_every_package_exports_what_it_imports():
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        src = inspect.getsource(mod)
        imported = re.findall(r"^from \S+ import (\w+) as \1$", src, re.M)
        assert sorted(mod.__all__) == sorted(imported), pkg


@pytest.mark.parametrize("qualname,obj", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_public_name_documents_every_argument(qualname, obj):
    if not callable(obj):  # a constant: the API entry is its value and its comment
        return
    doc = _doc(obj)
    assert doc.strip(), f"{qualname} has no docstring"
    params = _parameters(obj)
    if not params:
        return
    assert "**Arguments:**" in doc, f"{qualname}: no **Arguments:** section"
    described = _documented_arguments(doc)
    missing = [p for p in params if not described.get(p)]
    assert not missing, f"{qualname}: arguments without a description: {missing}"
    extra = [d for d in described if d not in params]
    assert not extra, f"{qualname}: describes arguments it does not take: {extra}"


@pytest.mark.parametrize("qualname,obj", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_public_function_says_what_it_returns(qualname, obj):
    if not inspect.isfunction(obj):
        return
    ret = inspect.signature(obj).return_annotation
    if ret in (None, "None", inspect.Signature.empty):
        return
    assert "**Returns:**" in _doc(obj), f"{qualname}: no **Returns:** section"

"""The codebase's shape: every module short enough to read in one sitting, and no two
module or package names that differ only by an underscore or a plural."""

from __future__ import annotations

import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "jaxrnn"
MAX_LINES = 300


def test_no_module_over_300_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def _stem(name: str) -> str:
    name = name.lstrip("_")
    return name[:-1] if name.endswith("s") else name


def test_no_names_that_differ_by_an_underscore_or_a_plural():
    names = {p.stem if p.suffix == ".py" else p.name
             for p in PACKAGE.rglob("*") if (p.suffix == ".py" or p.is_dir())
             and p.name != "__pycache__" and p.stem != "__init__"}
    seen: dict[str, str] = {}
    clashes = []
    for name in sorted(names):
        key = _stem(name)
        if key in seen and seen[key] != name:
            clashes.append((seen[key], name))
        seen.setdefault(key, name)
    assert not clashes, clashes


def test_training_does_not_import_sweeps_and_no_import_hides_in_a_function():
    """Sweeps build on training, never the reverse; and no module of the library imports
    another of its own from inside a function (the way a cycle gets hidden). The command
    line alone imports lazily, so that ``jaxrnn --help`` starts fast."""
    import ast
    import subprocess
    import sys

    probe = "import sys, jaxrnn.training; print('jaxrnn.sweeps' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
    hidden = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                hidden += [f"{path.relative_to(PACKAGE)}:{sub.lineno}" for sub in ast.walk(node)
                           if isinstance(sub, ast.ImportFrom) and sub.level > 0]
    assert not hidden, hidden


def _code_lines(node) -> int:
    """A function's lines, its docstring excluded."""
    import ast

    n = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        n -= first.end_lineno - first.lineno + 1
    return n


def test_the_epoch_loop_and_simulate_fit_on_a_screen():
    """`fit` (the training loop) and `simulate` are read most: at most 60 lines of code
    each, their steps named functions."""
    import ast

    for rel, name in (("training/_fit.py", "fit"), ("_simulate.py", "simulate")):
        tree = ast.parse((PACKAGE / rel).read_text())
        (node,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name]
        assert _code_lines(node) <= 60, (rel, name, _code_lines(node))


def test_everything_called_on_an_objective_is_declared_by_the_abstract_objective():
    """The trainer, programs, run directory, sweeps and run report reach an objective only
    through `AbstractObjective`'s declared methods and attributes (no convention-only
    interface, no isinstance on a concrete objective)."""
    import ast

    from jaxrnn.training._objective_base import AbstractObjective
    from jaxrnn.training._objectives import OBJECTIVES

    declared = set(dir(AbstractObjective)) | set(AbstractObjective.__annotations__)
    used, concrete = set(), []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if path.name.endswith("_objective.py") or path.name == "_objective_base.py":
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Name, ast.Attribute)):
                base = node.value.id if isinstance(node.value, ast.Name) else node.value.attr
                if base == "objective":
                    used.add(node.attr)
        concrete += [path.name for cls in ("BenchmarkObjective", "ReconstructionObjective")
                     if f"isinstance(objective, {cls})" in text]
    assert used and used <= declared, sorted(used - declared)
    assert not concrete, concrete
    for cls in {*OBJECTIVES.values(), *(c for c in AbstractObjective.__subclasses__())}:
        assert not getattr(cls, "__abstractmethods__", None), cls


def test_the_jaxtyping_hook_checks_jaxrnn_in_this_suite():
    """The test command runs with jaxtyping's import hook (pyproject addopts): a call whose
    arrays disagree with the annotated shapes fails at the call."""
    import jaxtyping
    import numpy as np
    import pytest

    from jaxrnn.metrics import state_space_divergence

    with pytest.raises(jaxtyping.TypeCheckError, match="x_gen"):
        state_space_divergence(np.zeros((50, 2)), np.zeros((50, 3)))


def test_every_annotation_of_the_package_evaluates():
    """Each function's annotations evaluate (``typing.get_type_hints``): a jaxtyping shape
    string that a formatter unquoted (``Float[Array, ...]``) or a dangling forward
    reference fails here, not in a user's type checker."""
    import importlib
    import inspect
    import pkgutil
    import typing

    import jaxrnn

    bad = []
    for info in pkgutil.walk_packages(jaxrnn.__path__, "jaxrnn."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            functions = [obj] if inspect.isfunction(obj) else (
                [f for f in vars(obj).values() if inspect.isfunction(f)]
                if inspect.isclass(obj) else [])
            for f in functions:
                try:
                    typing.get_type_hints(f)
                except Exception as e:  # noqa: BLE001 - any failure is the finding
                    bad.append(f"{info.name}.{f.__qualname__}: {type(e).__name__}: {e}")
    assert not bad, bad


def test_no_labels_of_working_periods_or_paper_seed_numbers():
    """Results carry a date and a commit, papers their authors: no labels of working
    periods ("session" and a number) and no paper numbers ("seed" and 00N) anywhere in
    the repository's text."""
    import re

    root = pathlib.Path(__file__).resolve().parents[1]
    pattern = re.compile(r"\bsessions? \d|\bseeds? 00\d", re.IGNORECASE)
    suffixes = {".md", ".py", ".yaml", ".yml", ".txt", ".toml", ".csv", ".cfg"}
    hits = []
    for folder in ("README.md", "mkdocs.yml", "docs", "experiments", "configs", "jaxrnn",
                   "benchmarks", "tests"):
        base = root / folder
        files = [base] if base.is_file() else [p for p in base.rglob("*") if p.is_file()]
        for path in files:
            if path.suffix not in suffixes or ".jit-cache" in path.parts:
                continue
            for n, line in enumerate(path.read_text(errors="ignore").splitlines(), 1):
                if pattern.search(line):
                    hits.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)

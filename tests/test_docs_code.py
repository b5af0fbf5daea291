"""Every Python block of the README and of the documentation pages runs as written (in a
fresh namespace per page, blocks in page order), so no example can rot. Long blocks run
at reduced size through ``JAXRNN_DOCS_QUICK=1``, which the pages document."""

from __future__ import annotations

import os
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]


def _code(page: pathlib.Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), re.S)


# A page whose blocks all appear on an earlier page (the README's tour is the operators
# tutorial's first block) is not run again.
WITH_CODE = []
for _p in PAGES:
    if _code(_p) and not any(set(_code(_p)) <= set(_code(q)) for q in WITH_CODE):
        WITH_CODE.append(_p)


def test_the_pages_with_code_are_found():
    names = {p.name for p in WITH_CODE}
    assert {"operators.md", "oscillators.md", "plrnn-analysis.md", "reconstruction.md",
            "rplrnn.md", "sweeps.md"} <= names
    assert "README.md" not in names
    readme_tour = _code(ROOT / "README.md")[0]
    assert any(readme_tour in _code(p) for p in WITH_CODE)  # the README's tour runs too


@pytest.mark.parametrize("page", WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_code_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks write files (sweep.csv, runs/...)
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    monkeypatch.setenv("JAXRNN_DOCS_QUICK", "1")
    namespace: dict = {}
    for i, block in enumerate(_code(page)):
        exec(compile(block, f"{page.name} block {i}", "exec"), namespace)
    if page.name == "operators.md":  # Caruso & Jarne's commutation results (float64 here)
        for name in ("rd_euler", "dl_taylor", "lr"):
            assert namespace[name] < 1e-12, name
        assert namespace["dl_rk4_at_hs"] > 1e-4
    if page.name == "oscillators.md":  # the invariant, the frequency, Euler's growth
        assert float(namespace["invariant_drift"](namespace["net"], namespace["sol"].ys).max()) < 1e-8
    if page.name == "rplrnn.md":  # the trained model comes back from its run directory
        trained = namespace["trained"]
        assert trained.n_regularised == 20 and float(abs(trained.A[:20] - 1).max()) < 0.1
    if page.name == "reconstruction.md":  # the free run scores as the run's best epoch did
        d_stsp = namespace["state_space_divergence"](namespace["x_true"], namespace["x_gen"])
        assert d_stsp == pytest.approx(namespace["summary"]["best_d_stsp"], rel=1e-9)
    if page.name == "plrnn-analysis.md":
        assert len(namespace["fps"]) == 3 and len(namespace["c12"]) > 0
        assert namespace["spec"][0] > 0.05  # the chaotic PLRNN
    if page.name == "sweeps.md":
        assert (tmp_path / "runs" / "sweep.csv").read_text().count("\n") == 1 + 60  # 3 x 20 points
        assert len(os.listdir(tmp_path / "runs" / "tau_x_seed" / "members")) == 2

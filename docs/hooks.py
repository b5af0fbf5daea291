"""MkDocs hook: pages that are generated from the code, so they cannot drift from it.

``<!-- config-reference -->`` becomes the table of every training-config key (from the
config dataclasses); ``<!-- cli-reference -->`` the help of every ``jaxrnn`` command (from
its argument parser); ``<!-- include: PATH -->`` the text of a file the experiments
write (PATH relative to the repository root), so a results page shows the committed
table itself."""

from __future__ import annotations

import argparse


def _cli_reference() -> str:
    from jaxrnn.cli import _parser

    parser = _parser()
    parts = ["```text", parser.format_help().rstrip(), "```"]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        parts += [f"## `jaxrnn {name}`", "", "```text", p.format_help().rstrip(), "```", ""]
    return "\n".join(parts)


def _includes(markdown: str) -> str:
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1]
    return re.sub(
        r"<!-- include: (\S+) -->",
        lambda m: (root / m[1]).read_text(),
        markdown,
    )


def on_page_markdown(markdown: str, **kwargs) -> str:
    markdown = _includes(markdown)
    if "<!-- config-reference -->" in markdown:
        from jaxrnn.training import config_reference

        markdown = markdown.replace("<!-- config-reference -->", config_reference())
    if "<!-- sweep-reference -->" in markdown:
        from jaxrnn.sweeps import sweep_reference

        markdown = markdown.replace("<!-- sweep-reference -->", sweep_reference())
    if "<!-- cli-reference -->" in markdown:
        markdown = markdown.replace("<!-- cli-reference -->", _cli_reference())
    return markdown


API_PAGES = {"jaxrnn": "api/core"} | {
    f"jaxrnn.{m}": f"api/{m}"
    for m in (
        "analysis", "em", "metrics", "models", "plot", "sweeps", "systems", "tasks", "training"
    )
}


def on_post_build(config, **kwargs) -> None:
    """Fail the build when a public name (an ``__all__`` entry that is not a subpackage)
    has no entry on its package's API page."""
    import importlib
    import inspect
    import pathlib
    import re

    from mkdocs.exceptions import PluginError

    site = pathlib.Path(config["site_dir"])
    # offline browsing: every relative link of every page resolves to a file on disk
    broken = []
    for html_path in site.rglob("*.html"):
        if "assets" in html_path.parts or html_path.name == "404.html":
            continue
        for href in re.findall(r'href="([^"#?]+)', html_path.read_text()):
            if re.match(r"[a-z]+:|/|data:", href):
                continue
            target = (html_path.parent / href).resolve()
            if not target.is_file():
                broken.append(f"{html_path.relative_to(site)} -> {href}")
    if broken:
        raise PluginError("links that do not open a file: " + ", ".join(sorted(broken)[:10]))
    missing = []
    for package, page in API_PAGES.items():
        html = (site / f"{page}.html").read_text()
        anchors = set(re.findall(r'id="([^"]+)"', html))
        module = importlib.import_module(package)
        for name in module.__all__:
            if not inspect.ismodule(getattr(module, name)) and f"{package}.{name}" not in anchors:
                missing.append(f"{package}.{name}")
    if missing:
        raise PluginError(f"public names without an API entry: {', '.join(missing)}")

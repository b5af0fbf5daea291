"""MkDocs hook: pages that are generated from the code, so they cannot drift from it.

``<!-- config-reference -->`` becomes the table of every training-config key (from the
config dataclasses); ``<!-- cli-reference -->`` the help of every ``jaxrnn`` command (from
its argument parser)."""

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


def on_page_markdown(markdown: str, **kwargs) -> str:
    if "<!-- config-reference -->" in markdown:
        from jaxrnn.training import config_reference

        markdown = markdown.replace("<!-- config-reference -->", config_reference())
    if "<!-- sweep-reference -->" in markdown:
        from jaxrnn.training import sweep_reference

        markdown = markdown.replace("<!-- sweep-reference -->", sweep_reference())
    if "<!-- cli-reference -->" in markdown:
        markdown = markdown.replace("<!-- cli-reference -->", _cli_reference())
    return markdown

"""docs/cli.md: the CLI reference, generated from the commands' own ``--help``.

``python -m fanout.cli._reference docs/cli.md`` (``make docs``) rewrites it;
tests/face/test_docs.py fails when it is stale, so the reference cannot drift.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["render_reference"]

WIDTH = 88
_SETTINGS: dict[str, Any] = {
    "terminal_width": WIDTH,
    "max_content_width": WIDTH,
    "help_option_names": ["-h", "--help"],
}


def _help(command: click.Command, name: str, parent: click.Context | None) -> str:
    ctx = click.Context(command, info_name=name, parent=parent, **_SETTINGS)
    return command.get_help(ctx)


def render_reference() -> str:
    """The Markdown page: the group's help, then each command's, in alphabetical order."""
    from . import main

    root = click.Context(main, info_name="fanout", **_SETTINGS)
    parts = [
        "# fanout CLI reference\n",
        "Generated from `--help` by `make docs` (python -m fanout.cli._reference docs/cli.md);",
        "a test fails when this page and the commands disagree.\n",
        "```",
        main.get_help(root),
        "```\n",
    ]
    for name in sorted(main.commands):
        parts += [f"## fanout {name}\n", "```", _help(main.commands[name], name, root), "```\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    text = render_reference()
    if target is None:
        sys.stdout.write(text)
    else:
        target.write_text(text, encoding="utf-8")

"""What every command shares: the ``--db`` option, and fanout errors turned into exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from runner import FanoutError

__all__ = ["DEFAULT_DB", "EXIT_INTERRUPTED", "db_option", "fanout_errors"]

EXIT_INTERRUPTED = 130
DEFAULT_DB = "fanout.db"

F = TypeVar("F", bound=Callable[..., Any])


def db_option(help: str = "State file (SQLite).") -> Callable[[F], F]:
    """``--db PATH`` (into ``db_path``), the same on every command."""
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_DB,
        show_default=True,
        help=help,
    )


@contextmanager
def fanout_errors() -> Iterator[None]:
    """Print a fanout error as one message a user can act on, and exit with its code."""
    try:
        yield
    except FanoutError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)

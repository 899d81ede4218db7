"""The ``fanout`` command line: a thin click layer over the :mod:`fanout` API.

Option parsing, printing, and errors turned into exit codes (0 every job succeeded; 1 some
jobs failed for good, or the server refused the run; 2 usage or input error, nothing sent;
130 interrupted, state saved and the same command resumes).
"""

from __future__ import annotations

import click

from ._eval import compare_command, eval_command, report_command, score_command
from ._run import export_command, run_command, runs_command, status_command
from ._sim import sim_command

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fanout")
def main() -> None:
    """Run large JSONL batches of chat/completion requests at the rate limit, resumably."""


for _command in (
    run_command,
    status_command,
    runs_command,
    export_command,
    sim_command,
    eval_command,
    score_command,
    compare_command,
    report_command,
):
    main.add_command(_command)

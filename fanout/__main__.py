"""``python -m fanout`` is ``fanout``."""

from .cli import main

main(prog_name="fanout")

"""``python -m runner`` is ``fanout``."""

from .cli import main

main()

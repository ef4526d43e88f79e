"""``python -m terminal`` is the same as ``till``."""

from terminal.cli import main

main()

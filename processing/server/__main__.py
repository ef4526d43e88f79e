"""``python -m processing.server …`` — the same commands as ``till processing …``."""

from processing.server.cli import main

main()

"""`python -m starter …`: the operator's command line (see starter/cli.py)."""

from starter.cli import main

main()

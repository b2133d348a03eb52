"""`python -m townhall.cli` runs the `townhall` command."""

from townhall.cli.app import main

main()

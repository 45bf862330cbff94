"""`python -m wphil` runs the wphil CLI."""

from wphil.cli import main

main()

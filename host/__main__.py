"""`python -m host` runs the wphil CLI."""

from host.cli import main

main()

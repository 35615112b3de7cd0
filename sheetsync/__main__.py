"""`python -m sheetsync`: the same as the `sheetsync` command."""

from sheetsync.service.cli import main

main(prog_name="sheetsync")

"""`python -m sheetsync.emulator`: serve both emulators (see `sheetsync emulator --help`)."""

from sheetsync.service.cli import emulator

emulator(prog_name="python -m sheetsync.emulator")

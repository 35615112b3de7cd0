"""`python -m sheetsync.emulator`: serve both emulators (see `sheetsync emulator --help`)."""

from sheetsync.service.emulator_cli import emulator

emulator(prog_name="python -m sheetsync.emulator")

"""The journal behind one `Store` protocol: SQLite (one process) or PostgreSQL (a fleet).

`protocol` defines what the engine may ask; `sqlite` adapts today's `Journal`; `postgres`
serves several instances through leases per spreadsheet (see docs/FLEET-IMPLEMENTATION.md).
Nothing here imports psycopg until a PostgreSQL store is opened.
See docs/ARCHITECTURE.md.
"""

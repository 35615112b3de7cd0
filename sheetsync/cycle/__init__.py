"""The code that orders I/O within a cycle: read 1 -> claim -> write 1 -> triggers ->
read 2 -> write 2, executing what `core` decided through the adapters.

See docs/ARCHITECTURE.md.
"""

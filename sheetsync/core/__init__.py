"""PURE decisions and the values every layer shares: no I/O library, nothing of
`cycle`, `adapters` or `service` (tests/test_layout_boundaries.py enforces it).

See docs/ARCHITECTURE.md.
"""

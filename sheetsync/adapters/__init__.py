"""The I/O: Google (`google`), axiom (`axiom`), shared pacing, and the journal (`store`,
where all SQL lives). Adapters import `core` and each other, never `cycle` or `service`.

See docs/ARCHITECTURE.md.
"""

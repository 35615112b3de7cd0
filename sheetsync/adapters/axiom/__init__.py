"""axiom.ai: the client, its wire, what an answer means, and each key's outage gate.

See docs/ARCHITECTURE.md.
"""

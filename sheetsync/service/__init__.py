"""What faces people and the host: the command line, the daemon and its signals,
sd_notify, logs, metrics, checks, status, the demo, and the wiring of a config.

See docs/ARCHITECTURE.md.
"""

"""The name sheetsync is installed under, and the version installed: a leaf, cheap to import."""

from __future__ import annotations

DISTRIBUTION = "sheetsync-axiom"
"""The name on the package index (`sheetsync` there is an unrelated project); the import
package and the command stay `sheetsync`."""

NOT_INSTALLED = "(not installed)"


def installed_version() -> str:
    """The installed distribution's version, or `NOT_INSTALLED` (run from a source tree)."""
    from importlib import metadata  # only when asked: a new journal, a new fleet member

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED

"""Every install line in the documentation installs this project, not a namesake."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from click.testing import CliRunner

from sheetsync.distribution import DISTRIBUTION
from sheetsync.service.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OPTIONS_WITH_VALUE = {"--find-links", "-f", "--index-url", "-i", "--wheel-dir", "-w", "-r"}
PIP_LINE = re.compile(r"pip install\b([^`\n#]*)")


def _requirements(arguments: str) -> list[str]:
    """The requirement words of a `pip install` command line (options and values dropped)."""
    words, out, skip = shlex.split(arguments), [], False
    for word in words:
        if skip:
            skip = False
        elif word in OPTIONS_WITH_VALUE:
            skip = True
        elif word.startswith("-") or word in {"&&", "|", ";"}:
            if word in {"&&", "|", ";"}:
                break
        else:
            out.append(word)
    return out


def _is_ours(requirement: str) -> bool:
    """This distribution (any version or extras), or a path to a checkout or a wheel."""
    name = re.split(r"[\[=<>!~ ]", requirement, maxsplit=1)[0]
    if name.lower().replace("_", "-") == DISTRIBUTION:
        return True
    return requirement.startswith((".", "/", "~", "$")) or requirement.endswith(".whl")


def test_the_distribution_is_not_the_unrelated_sheetsync_on_the_index() -> None:
    """pyproject names the distribution `sheetsync-axiom`; the command stays `sheetsync`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION == "sheetsync-axiom"
    assert project["scripts"] == {"sheetsync": "sheetsync.service.cli:main"}
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "0." in result.output, result.output


def test_every_pip_install_line_names_this_distribution_or_a_path() -> None:
    """README and docs/: `pip install X` lines install sheetsync-axiom, a checkout or a wheel."""
    seen = 0
    for doc in DOCS:
        for number, line in enumerate(doc.read_text().splitlines(), start=1):
            for match in PIP_LINE.finditer(line):
                requirements = _requirements(match.group(1).strip())
                assert requirements, f"{doc.name}:{number}: no requirement in {line!r}"
                for requirement in requirements:
                    assert _is_ours(requirement), f"{doc.name}:{number}: {line.strip()}"
                seen += 1
    assert seen >= 6  # the quick start, the service install and upgrade, in README and docs

"""sheetsync.toml as a test writes it: Python values as TOML, `[[watch]]` tables, and the
whole file from a world's sections and watches (`World.config` supplies the defaults).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def toml_value(value: Any) -> str:
    """A Python value as TOML (JSON's string/number/bool/array syntax is valid TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def watch_toml(watch: Mapping[str, Any]) -> str:
    """One `[[watch]]` table, with nested tables such as `columns`."""
    lines = ["[[watch]]"]
    nested = {k: v for k, v in watch.items() if isinstance(v, Mapping)}
    lines += [  # None leaves a key out (e.g. the default interval when a cron is set)
        f"{k} = {toml_value(v)}" for k, v in watch.items() if k not in nested and v is not None
    ]
    for name, table in nested.items():
        lines.append(f"[watch.{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines)


def config_text(
    watches: Sequence[Mapping[str, Any]],
    sections: Mapping[str, Mapping[str, Any]],
    axiom: dict[str, Any],
    google: dict[str, Any],
    watch_defaults: Mapping[str, Any],
) -> str:
    """The file's text: `axiom`/`google` (the world's own keys) updated by `sections`,
    `[state]`, any other section, then each watch over `watch_defaults` (no watch: one)."""
    axiom.update(sections.get("axiom", {}))
    google.update(sections.get("google", {}))
    identities: list[Mapping[str, Any]] = google.pop("identity", [])  # replace the key
    if identities and "service_account_file" not in sections.get("google", {}):
        del google["service_account_file"]
    parts = ["[axiom]", *[f"{k} = {toml_value(v)}" for k, v in axiom.items()]]
    parts += ["[google]", *[f"{k} = {toml_value(v)}" for k, v in google.items()]]
    for identity in identities:
        parts += [
            "[[google.identity]]",
            *[f"{k} = {toml_value(v)}" for k, v in identity.items()],
        ]
    state = dict(sections.get("state", {})) or {"path": "sheetsync.db"}  # or a url
    parts += ["[state]", *[f"{k} = {toml_value(v)}" for k, v in state.items()]]
    for name, table in sections.items():  # e.g. metrics={"listen": "127.0.0.1:0"}
        if name not in {"axiom", "google", "state"}:
            parts += [f"[{name}]", *[f"{k} = {toml_value(v)}" for k, v in table.items()]]
    for index, watch in enumerate(watches or ({},)):
        parts.append(watch_toml({"name": f"w{index}", **watch_defaults, **watch}))
    return "\n".join(parts) + "\n"

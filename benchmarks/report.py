"""Result tables: printed with rich on a terminal, or as Markdown for the README."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table


@dataclass
class Section:
    """One table of figures, with notes on how they were taken."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        """Append a row (cells are shown with str())."""
        self.rows.append([str(c) for c in cells])


def met(ok: bool) -> str:
    """A target table's verdict cell."""
    return "yes" if ok else "NO"


def print_rich(console: Console, machine: str, command: str, sections: list[Section]) -> None:
    """Every section as a rich table, the machine and command first."""
    console.print(f"[bold]machine:[/bold] {machine}")
    console.print(f"[bold]command:[/bold] {command}")
    for section in sections:
        table = Table(title=section.title, title_justify="left", show_lines=False)
        for index, name in enumerate(section.columns):
            table.add_column(name, justify="left" if index == 0 else "right")
        for row in section.rows:
            table.add_row(*row)
        console.print()
        console.print(table)
        for note in section.notes:
            console.print(f"  [dim]{note}[/dim]")


def markdown(machine: str, command: str, sections: list[Section]) -> str:
    """Every section as a Markdown table, for the README's Performance section."""
    lines = [f"Machine: {machine}  ", f"Command: `{command}`", ""]
    for section in sections:
        lines += [f"**{section.title}**", ""]
        lines.append("| " + " | ".join(section.columns) + " |")
        aligns = [":--"] + ["--:"] * (len(section.columns) - 1)
        lines.append("| " + " | ".join(aligns) + " |")
        lines += [
            "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in section.rows
        ]
        if section.notes:
            lines.append("")
            lines += [f"- {note}" for note in section.notes]
        lines.append("")
    return "\n".join(lines)

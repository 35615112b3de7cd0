"""The benchmark's issue 14 rows for the cycles that read a big tab whole: each case
beside its own served cycle, the worst one deciding."""

from __future__ import annotations

from benchmarks.cycles import SizeFigures
from benchmarks.processes import ProcessRun
from benchmarks.recovery import CaseFigures
from benchmarks.report import Section
from benchmarks.whole_targets import add_rows, cases, failed, first_cycle_rows


def runs(cpu: float, mb: float = 50.0) -> list[ProcessRun]:
    """Three runs whose median CPU is `cpu` and whose largest peak is `mb`."""
    made = [(mb - 2, cpu / 2), (mb, cpu), (mb - 1, cpu * 2)]
    return [ProcessRun(1.0, peak, seconds, 0, "", "") for peak, seconds in made]


def figures(rows: int) -> CaseFigures:
    """Each reference a different served CPU, so a wrong pairing shows in the ratios."""
    found = CaseFigures(rows)
    found.runs = {"served": runs(0.5, 90), "crash": runs(1.0, 138), "batched": runs(1.5, 114)}
    found.shared, found.shared_first = runs(0.8, 124), runs(2.0, 137)
    found.takeover = runs(1.2, 124)
    return found


def ratios(section: Section) -> str:
    return section.rows[1][1]


def test_each_case_stands_beside_its_own_served_cycle() -> None:
    section = Section("t", ["target", "measured", "met"])
    own = (runs(1.6, 133), runs(0.4, 91))
    add_rows(section, 200_000, cases(figures(200_000), own, runs(0.6)))
    found = ratios(section)
    # crash and batched beside the two-tab sheet's 0.5 s, the shared first cycle beside
    # the shared tab's 0.8 s, PostgreSQL beside the one-tab 0.6 s, own links beside 0.4 s
    for part in ("crash 2.0x", "batched 3.0x", "shared first 2.5x", "PostgreSQL 2.0x"):
        assert part in found
    assert found.startswith("4.0x (own links)") and section.rows[1][2] == "NO"
    peak = section.rows[0]
    assert peak[1].startswith("138 MB (crash)") and peak[2] == "yes"
    assert "batched 114" in peak[1] and "own links 133" in peak[1]


def test_without_a_one_tab_served_cycle_postgresql_stands_beside_the_two_tab_one() -> None:
    section = Section("t", ["target", "measured", "met"])
    add_rows(section, 100_000, cases(figures(100_000), None))
    assert "PostgreSQL 2.4x" in ratios(section) and "own links" not in ratios(section)
    assert section.rows[0][2] == "NO"  # 138 MB at 100,000 rows: over 100 MB


def test_a_failed_postgresql_case_is_a_row_not_met_and_no_target_means_no_rows() -> None:
    found = figures(200_000)
    found.takeover = "the first once exited 1: boom"
    section = Section("t", ["target", "measured", "met"])
    add_rows(section, 200_000, cases(found, None), failed(found))
    assert section.rows[0] == ["200,000 rows, PostgreSQL takeover", found.takeover, "NO"]
    assert "PostgreSQL" not in section.rows[2][1] and "crash" in section.rows[2][1]
    found.takeover = "not measured"
    assert failed(found) is None
    before = len(section.rows)
    add_rows(section, 50_000, cases(found, None))
    assert len(section.rows) == before


def test_the_sheet_size_first_cycle_rows() -> None:
    sizes = SizeFigures(200_000)
    sizes.work, sizes.first, sizes.fallback = runs(0.5, 92), runs(1.6, 113), runs(0.6, 151)
    section = Section("t", ["target", "measured", "met"])
    first_cycle_rows(section, 200_000, sizes)
    peak, cpu = section.rows
    assert peak == [
        "200,000 rows: peak RSS <= 150 MB on every cycle, first included",
        "151 MB (first 113 MB)",
        "NO",
    ]
    assert cpu[1] == "3.2x (1.60 s / 0.50 s)" and cpu[2] == "NO"
    first_cycle_rows(section, 100_000, None)
    assert section.rows[-1][1:] == ["not measured (--sizes)", "n/a"]

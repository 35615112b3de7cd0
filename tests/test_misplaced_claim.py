"""A former holder's late claim write lands one row off (fleet soak, seeds 2625854087 and
965598427): the row it hits shows `sending` and the id of a claim the journal holds as
unchecked, beside that row's own inputs.

Such a row is a stray: what it held is told from the journal by its own inputs (its own
id and status, or nothing: a new row) and put back; the claim is an unchecked claim whose
write is not seen on its row (given up once the grace is over; its row is then new).
Each case is staged as the soak meets it: the claim committed to the journal, the
process gone (a takeover on PostgreSQL), rows moved, and the claim write's cells on the
neighbour before the new process's first read.
"""

from __future__ import annotations

from collections import Counter

from sheetsync.adapters.store.journal_landing import Adoption
from sheetsync.core.plan import fingerprint
from sheetsync.core.strays import UNTOLD_MESSAGE
from sheetsync.invariants import sent_urls
from sheetsync.testing import AUTOMATION, World

HEADER = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]
LATE = "rlate0000001"
"""The former holder's claim, never confirmed on its row."""


def late_claim(world: World, inputs: list[str]) -> None:
    """The former holder's claim of the row holding `inputs`, committed before it stopped."""
    journal = world.runtime().journal
    journal.claim("w0", [(LATE, fingerprint(inputs), AUTOMATION)], world.clock.now)
    world.close_runtime()  # the holder is gone: a new process (PostgreSQL: a takeover)


def lands_on(world: World, number: int) -> None:
    """The late claim write (`sending` and the claim's id) lands on row `number`."""
    for col, value in ((3, "sending"), (6, LATE)):
        world.google.set_cell(world.spreadsheet_id, "Queue", number, col, value)


def insert(world: World, url: str) -> None:
    world.google.insert_rows(world.spreadsheet_id, "Queue", 2, values=[[url, url[-2:]]])


def rows(world: World) -> dict[str, dict[str, str]]:
    values = world.values()
    return {
        r[0]: {h: (r[i] if i < len(r) else "") for i, h in enumerate(HEADER)}
        for r in values[1:]
        if r
    }


def links(world: World) -> dict[str, set[str]]:
    """The run links axiom gave each url."""
    found: dict[str, set[str]] = {}
    for run in world.axiom.runs:
        found.setdefault(str(run.data[1][0]), set()).add(run.link)
    return found


def assert_final(world: World, sent: Counter[str], untold: frozenset[str] = frozenset()) -> None:
    """Each url sent as often as `sent` says; every row `triggered` with a link of its own
    run, but the `untold` rows (the late write hit them: `unknown`, why in the message,
    never sent for it); nothing misplaced, every id shown once and none the late claim's."""
    assert sent_urls(world.axiom) == sent
    shown = rows(world)
    runs = links(world)
    for url, row in shown.items():
        if url in untold:
            assert (row["Status"], row["Message"]) == ("unknown", UNTOLD_MESSAGE), (url, row)
            assert row["Run link"] in runs.get(url, set()) | {""}, (url, row)
            continue
        assert row["Status"] == "triggered", (url, row)
        assert row["Run link"] in runs.get(url, set()), (url, row)
    ids = [r["sheetsync id"] for r in shown.values()]
    assert len(set(ids)) == len(ids) and LATE not in ids
    assert world.runtime().journal.strays("w0") == []


def served_aa(world: World) -> None:
    """A tab with one row, aa, sent and shown triggered."""
    world.sheet([HEADER, ["https://aa", "aa"]])
    world.config({"mode": "row"})
    world.once()


def past_grace_and_settle(world: World) -> None:
    """Past the claim grace (PostgreSQL: a former holder's claim is kept a while), then
    cycles until every row is final."""
    world.past_grace()
    for _ in range(3):
        world.once()


def n1_claimed_late_then_n0_typed(world: World) -> None:
    """A served row aa; n1 typed and claimed by a former holder whose claim write is
    late; then n0 typed above it, at row 2, where that write will land."""
    served_aa(world)
    insert(world, "https://n1")
    late_claim(world, ["https://n1", "n1"])
    insert(world, "https://n0")


def test_a_late_claim_write_on_a_new_neighbour(world: World) -> None:
    """The former holder read n1 at row 2 and claimed it; n0 was typed above it since, and
    the claim write hit n0: nothing tells n0 was new (a row finished by hand looks the
    same), so it is shown `unknown`, never sent; n1 is sent once."""
    n1_claimed_late_then_n0_typed(world)
    lands_on(world, 2)
    past_grace_and_settle(world)
    assert_final(world, Counter({"https://aa": 1, "https://n1": 1}), frozenset({"https://n0"}))
    assert world.runtime().journal.counts("w0").get("claimed", 0) == 0


def test_a_late_claim_write_on_a_triggered_neighbour(world: World) -> None:
    """The former holder read n1 at row 3 below a row since deleted: its claim write hit
    row 3, h, already triggered: h is shown `unknown` (its inputs do not tell it from a
    row typed again after one deleted), its link left, never sent again; n1 once."""
    world.sheet([HEADER, ["https://hh", "hh"]])
    world.config({"mode": "row"})
    world.once()
    insert(world, "https://n1")
    late_claim(world, ["https://n1", "n1"])
    lands_on(world, 3)
    past_grace_and_settle(world)
    assert_final(world, Counter({"https://hh": 1, "https://n1": 1}), frozenset({"https://hh"}))


def test_a_late_claim_write_on_a_neighbour_claimed_meanwhile(world: World) -> None:
    """The new holder claimed n0 (its write showed `sending` and its id), then the late
    claim write overwrote that row: n0 is shown `unknown`; that claim, never sent, is
    found on no row and given up like any other: nothing is sent for n0."""
    n1_claimed_late_then_n0_typed(world)
    journal = world.runtime().journal
    mine = fingerprint(["https://n0", "n0"])
    journal.claim("w0", [("rown0claim01", mine, AUTOMATION)], world.clock.now)
    journal.mark_checked("w0", ["rown0claim01"])
    lands_on(world, 2)
    past_grace_and_settle(world)
    assert_final(world, Counter({"https://aa": 1, "https://n1": 1}), frozenset({"https://n0"}))
    assert journal.counts("w0").get("claimed", 0) == 0


def test_the_claims_own_row_waits_while_the_claim_is_kept(world: World) -> None:
    """Before the grace ends (PostgreSQL) the claim's own row is not sent as new; the
    neighbour the write hit is shown `unknown` at once. Afterwards n1 is sent once."""
    n1_claimed_late_then_n0_typed(world)
    lands_on(world, 2)
    world.once()
    assert rows(world)["https://n0"]["sheetsync id"] != LATE
    assert sent_urls(world.axiom)["https://n1"] <= 1
    past_grace_and_settle(world)
    assert_final(world, Counter({"https://aa": 1, "https://n1": 1}), frozenset({"https://n0"}))


def test_a_row_no_input_tells_is_not_taken_for_new_beside_rows_adopted_blind(
    world: World,
) -> None:
    """A journal that adopted rows without their inputs (a lost journal, a big tab read
    narrowly) and shows one of them on no row: the row the late write hit may be it, so
    it is shown `unknown` with why, and never sent on a guess."""
    served_aa(world)
    journal = world.runtime().journal
    blind = Adoption("rblind000001", "triggered", "", link="https://run/old")
    journal.adopt("w0", [blind], world.clock.now, "adopted from a narrow read")
    insert(world, "https://n1")
    late_claim(world, ["https://n1", "n1"])
    insert(world, "https://n0")
    lands_on(world, 2)
    past_grace_and_settle(world)
    assert sent_urls(world.axiom) == Counter({"https://aa": 1, "https://n1": 1})
    n0 = rows(world)["https://n0"]
    assert n0["Status"] == "unknown" and n0["Message"] == UNTOLD_MESSAGE
    assert n0["sheetsync id"] not in {"", LATE}


def test_a_late_claim_write_on_a_copy_of_a_triggered_row(world: World) -> None:
    """A person copied aa's row, id included, above n1; the late write hit the copy: the
    copy is shown `unknown`, never sent; aa is sent once (taken for new, it was twice)."""
    served_aa(world)
    insert(world, "https://n1")
    late_claim(world, ["https://n1", "n1"])
    world.google.insert_rows(world.spreadsheet_id, "Queue", 2, values=[world.values()[2]])
    lands_on(world, 2)
    past_grace_and_settle(world)
    assert sent_urls(world.axiom) == Counter({"https://aa": 1, "https://n1": 1})
    copy, original = (r for r in world.values()[1:] if r[0] == "https://aa")
    assert (copy[2], copy[4]) == ("unknown", UNTOLD_MESSAGE)
    assert original[2] == "triggered"


def test_a_late_claim_write_on_a_row_typed_again_after_a_deleted_one(world: World) -> None:
    """aa was triggered and deleted; a person typed aa again as a new row and the late
    write hit it: it is not given the deleted row's id and link (another run's result),
    it is shown `unknown`."""
    served_aa(world)
    old = rows(world)["https://aa"]
    world.google.delete_rows(world.spreadsheet_id, "Queue", 2)
    world.once()
    insert(world, "https://n1")
    late_claim(world, ["https://n1", "n1"])
    insert(world, "https://aa")
    lands_on(world, 2)
    past_grace_and_settle(world)
    again = rows(world)["https://aa"]
    assert again["Status"] == "unknown" and again["sheetsync id"] != old["sheetsync id"]
    assert again["Run link"] != old["Run link"]
    assert sent_urls(world.axiom)["https://n1"] == 1


def test_an_earlier_attempts_claim_write_lands_after_the_row_was_sent(world: World) -> None:
    """Fleet soak, seed 3502720904: n1's claim was seen on its own row and sent; then a
    claim write of an earlier attempt at it (same id) landed one row off, on n0 typed above
    it since. The id is on two rows; n1 owns it by its inputs. n0 showed `sending` for
    good (never final); it is shown `unknown` (nothing tells what it held), never sent."""
    served_aa(world)
    insert(world, "https://n1")
    world.once()
    sent = rows(world)["https://n1"]
    assert sent["Status"] == "triggered"
    insert(world, "https://n0")
    for col, value in ((3, "sending"), (6, sent["sheetsync id"])):
        world.google.set_cell(world.spreadsheet_id, "Queue", 2, col, value)
    past_grace_and_settle(world)
    assert_final(world, Counter({"https://aa": 1, "https://n1": 1}), frozenset({"https://n0"}))
    assert rows(world)["https://n1"] == sent

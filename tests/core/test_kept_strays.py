"""`kept_strays`: a stray merged from two hits (recorded by the second write's answer)
found again by a lost answer's check (a kill after the answer's strays were recorded,
before `answered`) is the same hit: never replaced, neither by an untold probe (the row
would show `unknown` though its past is known) nor by one told from the first mistake
(the row would keep another row's run link)."""

from __future__ import annotations

from sheetsync.core.landing import Stray
from sheetsync.core.strays import kept_strays

CLAIM = (("status", "sending"), ("id", "D"))
RESULT = (("status", "triggered"), ("link", "https://run/a"), ("message", "ok"))


def test_a_merged_told_stray_found_again_by_a_lost_answers_check_is_kept() -> None:
    first = Stray("", "fp-b", RESULT, (("status", "hold"), ("link", ""), ("message", "")))
    second = Stray("D", "fp-b", CLAIM, (("status", "triggered"), ("id", "")))
    recorded, gone = kept_strays([second], [first])  # the write's answer: chained
    assert gone == [first] and recorded[0].prior is not None
    merged = recorded[0]
    again = Stray("D", "fp-b", CLAIM, None)  # the lost answer's check: nothing tells
    kept, replaced = kept_strays([again], [merged], keep_told=True)
    assert (kept, replaced) == ([], []), (kept, replaced)


def test_a_merged_told_stray_found_again_told_from_the_neighbour_record_is_kept() -> None:
    """The realistic probe: `_shifted` finds b's neighbour record of the claim write (b as
    that read saw it: the first mistake's status, no id) and tells that as b's past. Not
    dropped (wrote differs), `chained` skips the merged stray (held id '' != 'D'), and
    the journal's INSERT OR REPLACE on (row_id, fingerprint) overwrites the merged stray:
    b is put back to a's 'triggered', keeping a's run link for good."""
    first = Stray("", "fp-b", RESULT, (("status", "hold"), ("link", ""), ("message", "")))
    second = Stray("D", "fp-b", CLAIM, (("status", "triggered"), ("id", "")))
    merged = kept_strays([second], [first])[0][0]
    again = Stray("D", "fp-b", CLAIM, (("status", "triggered"), ("id", "")))
    kept, replaced = kept_strays([again], [merged], keep_told=True)
    assert (kept, replaced) == ([], []), (kept, replaced)

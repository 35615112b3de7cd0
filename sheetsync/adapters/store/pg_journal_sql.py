"""The journal's statements over many rows on PostgreSQL: each takes a batch (`pg_bulk`)."""

from __future__ import annotations

from sheetsync.adapters.store.journal_records import RESULT_COLUMNS
from sheetsync.adapters.store.pg_bulk import rows_of
from sheetsync.core.model import Result

SHOWN_CELLS = ("state", "link", "message", "triggered_at", "run_status")
"""What an entry shows on its row: a row is marked shown only if these are unchanged."""

CLAIM = (
    "INSERT INTO rows (watch, row_id, state, attempt, fingerprint, automation, updated_at,"
    " checked, epoch) SELECT %s, row_id, 'claimed', 1, fingerprint, automation, %s, false, %s"
    " FROM " + rows_of("row_id text", "fingerprint text", "automation text") + " u"
    " ON CONFLICT (watch, row_id) DO UPDATE SET state = 'claimed', checked = false,"
    " attempt = rows.attempt + 1, fingerprint = excluded.fingerprint,"
    " automation = excluded.automation, link = '', message = '',"
    " run_status = '', poll_at = '', trigger_id = '', wait_reason = '',"
    " updated_at = excluded.updated_at, epoch = excluded.epoch"
)

PLACED = (
    "INSERT INTO places (watch, row_id, row_number) SELECT %s, row_id, row_number FROM "
    + rows_of("row_id text", "row_number int")
    + " u ON CONFLICT (watch, row_id) DO UPDATE SET row_number = excluded.row_number"
)

PLACES = (
    "INSERT INTO places (watch, row_id, row_number, preview) SELECT %s, row_id, row_number,"
    " preview FROM " + rows_of("row_id text", "row_number int", "preview text") + " u"
    " ON CONFLICT (watch, row_id) DO UPDATE SET row_number = excluded.row_number,"
    " preview = excluded.preview"
)

SHOWN = (
    "UPDATE rows r SET shown = true FROM "
    + rows_of(*(f"{c} text" for c in ("row_id", *SHOWN_CELLS)))
    + " u WHERE r.watch = %s AND r.row_id = u.row_id"
    " AND (r.shown, r.state, r.link, r.message, r.triggered_at, r.run_status)"
    " IS NOT DISTINCT FROM (false, u.state, u.link, u.message, u.triggered_at, u.run_status)"
)
"""Joined by the primary key alone (see `pg_bulk`): `NOT shown AND state = ...` would let
the planner scan `rows_to_show` or `rows_by_state` for each row of the batch."""

SKIP = (
    "INSERT INTO rows (watch, row_id, state, fingerprint, message, updated_at)"
    " SELECT %s, row_id, 'skipped', fingerprint, %s, %s FROM "
    + rows_of("row_id text", "fingerprint text")
    + " u ON CONFLICT DO NOTHING"
)

TOMBSTONES = (
    "INSERT INTO tombstones (watch, row_id, epoch, fingerprint, at)"
    " SELECT %s, row_id, epoch, fingerprint, %s FROM "
    + rows_of("row_id text", "epoch bigint", "fingerprint text")
    + " u ON CONFLICT DO NOTHING"
)

RESULT_PAGE = (
    "SELECT json_build_array("
    + ", ".join(f"json_agg({c} ORDER BY row_id)" for c in Result._fields)
    + f") FROM (SELECT {RESULT_COLUMNS} FROM rows"
    " WHERE watch = %s AND row_id > %s ORDER BY row_id LIMIT %s) p"
)
"""One page of `result_pages`, as one JSON value holding a list per field (each parsed in
C as one array, not a row at a time); the first page asks for row ids after `''`, which
every id is (no row has an empty id). Each aggregate orders by the unique row id, so
the lists line up."""

ORDERED_READ = (
    "SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)"
)
"""`result_pages`' transaction walks `rows_pkey` in order (see there)."""

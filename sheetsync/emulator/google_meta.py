"""Developer metadata in the Google Sheets emulator: create, find, update, delete.

Row metadata is stored as ids on `Row` objects (see `grid.py`), so it stays with its
row when rows are inserted or deleted above it, is deleted with its row, and does
not follow a sort (Google does not document the sort case; the emulator assumes the
pessimistic answer so product code must verify a located row before writing to it).
"""

from __future__ import annotations

from typing import Any

from sheetsync.emulator.google_a1 import ApiError, bad_request
from sheetsync.emulator.grid import Book, Bounds, DevMeta

VISIBILITIES = ("DOCUMENT", "PROJECT")
Locations = dict[int, tuple[int, int, int]]


def meta_json(meta: DevMeta, locations: Locations) -> dict[str, Any]:
    """A DeveloperMetadata resource as Google returns it."""
    out: dict[str, Any] = {"metadataId": meta.metadata_id, "metadataKey": meta.key}
    if meta.value is not None:
        out["metadataValue"] = meta.value
    out["location"] = _location_json(meta, locations)
    out["visibility"] = meta.visibility
    return out


def _location_json(meta: DevMeta, locations: Locations) -> dict[str, Any]:
    if meta.on_rows:
        sheet_id, start, end = locations[meta.metadata_id]
        span = {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": start, "endIndex": end}
        return {"locationType": "ROW", "dimensionRange": span}
    if meta.sheet_id is not None:
        return {"locationType": "SHEET", "sheetId": meta.sheet_id}
    return {"locationType": "SPREADSHEET", "spreadsheet": True}


def create(book: Book, request: Any) -> dict[str, Any]:
    """Apply a createDeveloperMetadata request; return its reply."""
    spec = request.get("developerMetadata") if isinstance(request, dict) else None
    if not isinstance(spec, dict):
        raise bad_request("developerMetadata is required.")
    key = spec.get("metadataKey")
    if not isinstance(key, str) or not key:
        raise bad_request("Developer metadata key must be specified.")
    visibility = spec.get("visibility")
    if visibility not in VISIBILITIES:
        raise bad_request("Developer metadata visibility must be specified.")
    meta_id = spec.get("metadataId")
    if meta_id is None:
        while book.next_meta_id in book.metadata:
            book.next_meta_id += 1
        meta_id = book.next_meta_id
    elif not isinstance(meta_id, int) or meta_id in book.metadata:
        raise bad_request(f"Developer metadata with ID {meta_id} already exists.")
    value = spec.get("metadataValue")
    meta = DevMeta(meta_id, key, None if value is None else str(value), visibility, None, False)
    _place(book, meta, spec.get("location"))
    book.metadata[meta_id] = meta
    return {"createDeveloperMetadata": {"developerMetadata": meta_json(meta, book.row_locations())}}


def _place(book: Book, meta: DevMeta, location: Any) -> None:
    if not isinstance(location, dict):
        raise bad_request("Developer metadata location must be specified.")
    if location.get("spreadsheet"):
        return
    if "sheetId" in location:
        if book.sheet_by_id(location["sheetId"]) is None:
            raise bad_request(f"No grid with id: {location['sheetId']}")
        meta.sheet_id = location["sheetId"]
        return
    span = location.get("dimensionRange")
    if not isinstance(span, dict):
        raise bad_request("Developer metadata location must be specified.")
    if span.get("dimension") != "ROWS":
        raise bad_request("The sheetsync emulator supports developer metadata on ROWS only.")
    sheet = book.sheet_by_id(span.get("sheetId", 0))
    if sheet is None:
        raise bad_request(f"No grid with id: {span.get('sheetId', 0)}")
    start, end = span.get("startIndex", 0), span.get("endIndex", sheet.row_count)
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end:
        raise bad_request("Invalid dimensionRange: startIndex must be less than endIndex.")
    if end > sheet.row_count:
        raise bad_request(f"Invalid dimensionRange: endIndex {end} exceeds the grid.")
    meta.sheet_id, meta.on_rows = sheet.sheet_id, True
    for row in sheet.rows[start:end]:
        row.meta.append(meta.metadata_id)


def matches(book: Book, data_filter: Any, locations: Locations) -> list[DevMeta]:
    """The metadata a DataFilter with a `developerMetadataLookup` selects."""
    lookup = data_filter.get("developerMetadataLookup") if isinstance(data_filter, dict) else None
    if not isinstance(lookup, dict):
        raise bad_request("The sheetsync emulator supports only developerMetadataLookup here.")
    found = []
    for meta in book.metadata.values():
        location = _location_json(meta, locations)
        if _lookup_matches(lookup, meta, location):
            found.append(meta)
    return found


def _lookup_matches(lookup: dict[str, Any], meta: DevMeta, location: dict[str, Any]) -> bool:
    scalar = {
        "metadataId": meta.metadata_id,
        "metadataKey": meta.key,
        "metadataValue": meta.value,
        "visibility": meta.visibility,
        "locationType": location["locationType"],
    }
    if any(name in lookup and lookup[name] != value for name, value in scalar.items()):
        return False
    wanted = lookup.get("metadataLocation")
    if not isinstance(wanted, dict):
        return True
    strategy = str(lookup.get("locationMatchingStrategy", "EXACT_LOCATION"))
    return _location_matches(wanted, location, strategy)


def _location_matches(wanted: dict[str, Any], location: dict[str, Any], strategy: str) -> bool:
    kind = location["locationType"]
    if (
        wanted.get("locationType", kind) != kind
        or (wanted.get("spreadsheet") and kind != "SPREADSHEET")
        or ("sheetId" in wanted and location.get("sheetId") != wanted["sheetId"])
    ):
        return False
    span = wanted.get("dimensionRange")
    if not isinstance(span, dict):
        return True
    have = location.get("dimensionRange")
    if have is None or have["sheetId"] != span.get("sheetId", 0):
        return False
    start, end = span.get("startIndex", 0), span.get("endIndex", 10**9)
    if strategy == "INTERSECTING_LOCATION":
        return bool(have["startIndex"] < end and start < have["endIndex"])
    return bool(have["startIndex"] == start and have["endIndex"] == end)


def delete(book: Book, request: Any) -> dict[str, Any]:
    """Apply a deleteDeveloperMetadata request; return its reply."""
    data_filter = request.get("dataFilter") if isinstance(request, dict) else None
    locations = book.row_locations()
    found = matches(book, data_filter, locations)
    deleted = [meta_json(m, locations) for m in found]
    for meta in found:
        del book.metadata[meta.metadata_id]
        for sheet in book.sheets:
            for row in sheet.rows:
                if meta.metadata_id in row.meta:
                    row.meta.remove(meta.metadata_id)
    return {"deleteDeveloperMetadata": {"deletedDeveloperMetadata": deleted}}


def update(book: Book, request: Any) -> dict[str, Any]:
    """Apply an updateDeveloperMetadata request (key, value, visibility); return its reply."""
    if not isinstance(request, dict) or not isinstance(request.get("developerMetadata"), dict):
        raise bad_request("developerMetadata is required.")
    spec, fields = request["developerMetadata"], str(request.get("fields", ""))
    names = {f.strip() for f in fields.split(",") if f.strip()}
    if not names:
        raise bad_request("At least one field must be specified in 'fields'.")
    unknown = names - {"metadataKey", "metadataValue", "visibility", "*"}
    if unknown:
        raise bad_request(f"The sheetsync emulator cannot update {sorted(unknown)}.")
    locations = book.row_locations()
    found: list[DevMeta] = []
    for data_filter in request.get("dataFilters") or []:
        found.extend(m for m in matches(book, data_filter, locations) if m not in found)
    for meta in found:
        if names & {"metadataKey", "*"}:
            meta.key = str(spec.get("metadataKey", meta.key))
        if names & {"metadataValue", "*"}:
            value = spec.get("metadataValue")
            meta.value = None if value is None else str(value)
        if names & {"visibility", "*"}:
            meta.visibility = str(spec.get("visibility", meta.visibility))
    updated = [meta_json(m, locations) for m in found]
    return {"updateDeveloperMetadata": {"developerMetadata": updated}}


def search(book: Book, body: Any) -> dict[str, Any]:
    """The answer of developerMetadata:search (`{}` when nothing matches)."""
    filters = body.get("dataFilters") if isinstance(body, dict) else None
    if not isinstance(filters, list):
        raise bad_request("dataFilters is required.")
    locations = book.row_locations()
    hits: dict[int, dict[str, Any]] = {}
    for data_filter in filters:
        for meta in matches(book, data_filter, locations):
            hit = hits.setdefault(
                meta.metadata_id,
                {"developerMetadata": meta_json(meta, locations), "dataFilters": []},
            )
            hit["dataFilters"].append(data_filter)
    return {"matchedDeveloperMetadata": list(hits.values())} if hits else {}


def get(book: Book, metadata_id: str) -> dict[str, Any]:
    """The answer of developerMetadata.get."""
    meta = book.metadata.get(int(metadata_id)) if metadata_id.isdigit() else None
    if meta is None:
        raise ApiError(404, f"No developer metadata with ID: {metadata_id}", "NOT_FOUND")
    return meta_json(meta, book.row_locations())


def filter_bounds(book: Book, data_filter: Any) -> list[Bounds]:
    """The ranges a DataFilter selects: an a1Range, a gridRange, or metadata rows/sheets."""
    if isinstance(data_filter, dict) and "a1Range" in data_filter:
        return [book.resolve(str(data_filter["a1Range"]))]
    if isinstance(data_filter, dict) and "gridRange" in data_filter:
        return [book.grid_bounds(data_filter["gridRange"])]
    locations = book.row_locations()
    found = []
    for meta in matches(book, data_filter, locations):
        if meta.on_rows:
            sheet_id, start, end = locations[meta.metadata_id]
            sheet = book.sheet_by_id(sheet_id)
            assert sheet is not None
            found.append(Bounds(sheet, start, end, 0, sheet.col_count))
        elif meta.sheet_id is not None:
            sheet = book.sheet_by_id(meta.sheet_id)
            assert sheet is not None
            found.append(Bounds(sheet, 0, sheet.row_count, 0, sheet.col_count))
    return found

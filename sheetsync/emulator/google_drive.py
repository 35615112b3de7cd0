"""The slice of Drive v3 the Google emulator serves: files.list by name, files.get
(the changes feed is `google_changes`).

Like Drive, a file resource without `fields` has only kind, id, name and mimeType;
`createdTime`/`modifiedTime` come back only when asked for, as RFC 3339 with millis, and
`lastModifyingUser` (whose `me` says whether the caller made the last change) likewise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from sheetsync.emulator.google_a1 import ApiError
from sheetsync.emulator.grid import Book

SHEETS_MIME = "application/vnd.google-apps.spreadsheet"
DEFAULT_FILE_FIELDS = "kind,id,name,mimeType"
DEFAULT_LIST_FIELDS = f"kind,incompleteSearch,files({DEFAULT_FILE_FIELDS})"

_CLAUSE = re.compile(
    r"""\s*(?P<field>name|mimeType)\s*(?P<op>=|!=|contains)\s*"""
    r"""(?P<q>['"])(?P<value>(?:\\.|(?!(?P=q)).)*)(?P=q)\s*""",
    re.DOTALL,
)
_IGNORED = re.compile(r"\s*(trashed\s*=\s*(false|true)|.+\s+in\s+parents|parents\s+in\s+.+)\s*")


def rfc3339(moment: float) -> str:
    """`2024-05-01T10:20:30.123Z`."""
    when = dt.datetime.fromtimestamp(moment, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def drive_error(code: int, message: str, reason: str, location: str | None = None) -> ApiError:
    """A Drive v3 error (it carries an `errors` list)."""
    item: dict[str, Any] = {"message": message, "domain": "global", "reason": reason}
    if location:
        item.update(location=location, locationType="parameter")
    return ApiError(code, message, "", {"errors": [item]})


def not_found(file_id: str) -> ApiError:
    """Drive's 404 for an unknown or unshared file."""
    return drive_error(404, f"File not found: {file_id}.", "notFound", "fileId")


def file_json(book: Book, caller: str = "") -> dict[str, Any]:
    """Every field of the file resource the emulator knows (`me`: is `caller` the user)."""
    resource: dict[str, Any] = {
        "kind": "drive#file",
        "id": book.spreadsheet_id,
        "name": book.title,
        "mimeType": SHEETS_MIME,
        "createdTime": rfc3339(book.created),
        "modifiedTime": rfc3339(book.modified),
        "trashed": False,
    }
    if book.modifier:
        resource["lastModifyingUser"] = {
            "kind": "drive#user",
            "displayName": book.modifier.split("@")[0],
            "emailAddress": book.modifier,
            "me": book.modifier == caller,
            "permissionId": str(int(hashlib.sha256(book.modifier.encode()).hexdigest(), 16))[:20],
        }
    return resource


def matches(query: str | None, book: Book) -> bool:
    """Whether a file matches a Drive `q` (name/mimeType clauses joined by `and`)."""
    if not query:
        return True
    resource = file_json(book)
    for clause in split_and(query):
        match = _CLAUSE.fullmatch(clause)
        if match is None:
            if _IGNORED.fullmatch(clause):
                continue
            raise drive_error(400, "Invalid Value", "invalid", "q")
        value = re.sub(r"\\(.)", r"\1", match["value"])
        have = str(resource[match["field"]])
        op = match["op"]
        if op == "contains":
            ok = value.casefold() in have.casefold()
        else:
            ok = (have == value) == (op == "=")
        if not ok:
            return False
    return True


def split_and(query: str) -> list[str]:
    """Split a Drive query on ` and ` outside quotes."""
    clauses, current, quote, i = [], [], "", 0
    while i < len(query):
        char = query[i]
        if quote:
            current.append(char)
            if char == "\\" and i + 1 < len(query):
                current.append(query[i + 1])
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            current.append(char)
        elif query[i : i + 5].lower() == " and ":
            clauses.append("".join(current))
            current = []
            i += 4
        else:
            current.append(char)
        i += 1
    clauses.append("".join(current))
    return [c for c in clauses if c.strip()]


def parse_fields(spec: str) -> dict[str, Any]:
    """`kind,files(id,name)` -> {"kind": {}, "files": {"id": {}, "name": {}}}; `*` is all."""
    fields: dict[str, Any] = {}
    depth, start = 0, 0
    for i, char in enumerate(spec + ","):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            _add_field(fields, spec[start:i].strip())
            start = i + 1
    return fields


def _add_field(fields: dict[str, Any], item: str) -> None:
    if not item:
        return
    if "(" in item and item.endswith(")"):
        name, inner = item.split("(", 1)
        fields.setdefault(name.strip(), {}).update(parse_fields(inner[:-1]))
        return
    head, _, rest = item.partition("/")
    node = fields.setdefault(head, {})
    if rest:
        _add_field(node, rest)


def select(resource: Any, fields: dict[str, Any]) -> Any:
    """Keep only the requested fields (an empty selection keeps everything below it)."""
    if not fields or "*" in fields:
        return resource
    if isinstance(resource, list):
        return [select(item, fields) for item in resource]
    if not isinstance(resource, dict):
        return resource
    return {k: select(resource[k], sub) for k, sub in fields.items() if k in resource}

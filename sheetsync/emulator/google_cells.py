"""Cell values of the Google Sheets emulator: how input is parsed and how cells render.

A stored cell is a `CellValue`: text, a number, a boolean, a `DateValue` (what
USER_ENTERED makes of `2024-01-02`) or a `Formula`. Empty cells are `None`.
Formulas are kept as text; only trivial arithmetic is evaluated, anything else
renders as a spreadsheet error, so a test can still tell that a formula was made.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_CELL_CHARS = 50_000
"""Google's limit on the characters of one cell."""

TOO_MANY_CHARS = (
    f"Your input contains more than the maximum of {MAX_CELL_CHARS} characters in a single cell."
)

RENDER_OPTIONS = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")


@dataclass(frozen=True, slots=True)
class Formula:
    """A formula as typed, e.g. `=IMPORTXML(A2,"//h1")`."""

    text: str


@dataclass(frozen=True, slots=True)
class DateValue:
    """A date/time USER_ENTERED turned into a serial number, shown as it was typed."""

    serial: float
    text: str


Scalar = str | int | float | bool
CellValue = Scalar | Formula | DateValue

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_CALL = re.compile(r"\s*[A-Za-z_][A-Za-z0-9_.]*\s*(\(|$)")
_EPOCH = dt.datetime(1899, 12, 30)


class CellInputError(ValueError):
    """A written value that Google would refuse (too long, or not a scalar)."""


def parse_input(value: Any, user_entered: bool) -> CellValue | None:
    """What a cell stores when `value` (one JSON item of a write) is written into it."""
    if value is None or value == "":
        return None
    if isinstance(value, bool | int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise CellInputError(f"Invalid value: {value!r}")
        return value
    if not isinstance(value, str):
        raise CellInputError(f"Invalid value at data: {type(value).__name__} is not a scalar")
    if len(value) > MAX_CELL_CHARS:
        raise CellInputError(TOO_MANY_CHARS)
    if not user_entered:
        return value
    return _parse_user_entered(value)


def _parse_user_entered(text: str) -> CellValue | None:
    if text.startswith("'"):
        return text[1:] or None
    if text.startswith("=") and len(text) > 1:
        return Formula(text)
    stripped = text.strip()
    if stripped.upper() in ("TRUE", "FALSE"):
        return stripped.upper() == "TRUE"
    if _NUMBER.fullmatch(stripped):
        number = float(stripped)
        if number.is_integer() and abs(number) < 2**53 and not re.search(r"[.eE]", stripped):
            return int(number)
        return number
    date = _parse_date(stripped)
    return date if date is not None else text


def _parse_date(text: str) -> DateValue | None:
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        moment = dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    serial = (moment - _EPOCH) / dt.timedelta(days=1)
    return DateValue(serial, text)


def effective(value: CellValue | None) -> Scalar | None:
    """The computed value of a cell (formulas evaluated, dates as serial numbers)."""
    if isinstance(value, Formula):
        return evaluate(value.text)
    if isinstance(value, DateValue):
        return value.serial
    return value


def format_number(number: int | float) -> str:
    """A number as Google's automatic format shows it."""
    if isinstance(number, int) or (number.is_integer() and abs(number) < 1e15):
        return str(int(number))
    return f"{number:.15g}".upper()


def render(value: CellValue | None, option: str) -> Any:
    """One cell as a read with this `valueRenderOption` returns it ("" when empty)."""
    if value is None:
        return ""
    if option == "FORMULA" and isinstance(value, Formula):
        return value.text
    if option == "FORMATTED_VALUE":
        if isinstance(value, DateValue):
            return value.text
        return formatted(effective(value))
    if isinstance(value, DateValue):
        return value.serial
    result = effective(value)
    return "" if result is None else result


def formatted(value: Scalar | None) -> str:
    """A computed value as FORMATTED_VALUE shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return format_number(value)
    return value


def is_empty(value: CellValue | None) -> bool:
    """Whether a cell counts as empty for trimming and table detection."""
    return value is None or value == ""


# -- formulas -------------------------------------------------------------------------
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.BitXor: operator.pow,  # Sheets writes powers as `^`
    ast.Pow: operator.pow,
}


def evaluate(text: str) -> Scalar:
    """The value of a formula: trivial arithmetic is computed, anything else is an error."""
    body = text[1:] if text.startswith("=") else text
    try:
        tree = ast.parse(body.strip(), mode="eval")
        result = _eval(tree.body)
    except ZeroDivisionError:
        return "#DIV/0!"
    except (SyntaxError, ValueError, TypeError, OverflowError):
        return "#NAME?" if _CALL.match(body) else "#ERROR!"
    if isinstance(result, float) and result.is_integer() and abs(result) < 2**53:
        return int(result)
    return result


def _eval(node: ast.expr) -> Scalar:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str):
        if isinstance(node.value, bool):
            raise ValueError("not a spreadsheet literal")
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _eval(node.operand)
        if not isinstance(operand, int | float):
            raise TypeError("unary on text")
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if not isinstance(left, int | float) or not isinstance(right, int | float):
            raise TypeError("arithmetic on text")
        result: int | float = _BINARY[type(node.op)](left, right)
        return result
    raise ValueError("unsupported formula")

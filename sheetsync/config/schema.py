"""TOML tables -> frozen dataclasses: the small validator behind `sheetsync.config`.

A section of the config is a frozen dataclass. Each field's annotation says what its key
takes: `str`, `int`, `float`, `bool`, a `Literal`, `tuple[str, ...]`, `X | None`, another
section, or a tuple of sections (an array of tables). `limits(...)` in a field's metadata
bounds a number or a string's length; a `check()` method sees the whole section once its
keys are valid (an `Invalid` it raises names one of them). Fields marked `INTERNAL` are
not keys: the code fills them in. A section with an internal `given` field learns which
of its keys the file set.

Every problem is one `Invalid`, whose path names the key as a user reads it, e.g.
`watch[0] (scrape).columns.status`. Numbers and booleans are read leniently, as TOML
users write them (`5` for 5.0, `"30"` for 30, `"yes"` for true); strings are not.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

T = TypeVar("T")

INTERNAL: Mapping[str, object] = types.MappingProxyType({"internal": True})
"""Field metadata: filled in by the code, not a key of the file."""

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


class Invalid(ValueError):
    """One problem in a config table: where (`path`) and what (`message`)."""

    def __init__(self, path: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message

    def __str__(self) -> str:
        where = ".".join(self.path)
        return f"{where}: {self.message}" if where else self.message


def limits(
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    min_length: int | None = None,
) -> dict[str, float]:
    """Field metadata bounding a number (`gt`, `ge`, `le`) or a string (`min_length`)."""
    given = {"gt": gt, "ge": ge, "le": le, "min_length": min_length}
    return {name: value for name, value in given.items() if value is not None}


def keys(section: type[Any]) -> tuple[str, ...]:
    """The keys a section accepts, in declaration order."""
    return tuple(f.name for f in _settings(section))


def values(instance: Any) -> dict[str, Any]:
    """A section's keys and values, nested sections as dicts (for hashing and display)."""
    out = {}
    for name in keys(type(instance)):
        value = getattr(instance, name)
        out[name] = values(value) if dataclasses.is_dataclass(value) else value
    return out


def build(section: type[T], raw: object, path: tuple[str, ...] = ()) -> T:
    """Validate the table `raw` into an instance of `section`; raise `Invalid`."""
    if not isinstance(raw, Mapping):
        raise Invalid(path, f"expected a table, got {_shown(raw)}")
    fields = _settings(section)
    names = {f.name for f in fields}
    for key in raw:
        if key not in names:
            raise Invalid((*path, str(key)), "unknown key" + _did_you_mean(str(key), names))
    hints = typing.get_type_hints(section)
    found: dict[str, Any] = {}
    for f in fields:
        where = (*path, f.name)
        if f.name in raw:
            found[f.name] = _value(hints[f.name], raw[f.name], where, f.metadata)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise Invalid(where, "required key is missing")
    if "given" in _internal(section):
        found["given"] = frozenset(raw)
    instance = section(**found)
    check = getattr(instance, "check", None)
    if check is not None:
        try:
            check()
        except Invalid as exc:  # a check that names one of the section's keys
            raise Invalid((*path, *exc.path), exc.message) from exc
        except ValueError as exc:
            raise Invalid(path, str(exc)) from exc
    return instance


def _did_you_mean(key: str, names: set[str]) -> str:
    """`; did you mean 'interval_seconds'?` for a near miss (spelling, case, - for _)."""
    folded = {n.casefold(): n for n in names}
    key_folded = key.casefold().replace("-", "_").replace(" ", "_")
    if key_folded in folded:
        return f"; did you mean {folded[key_folded]!r}?"
    close = difflib.get_close_matches(key_folded, sorted(folded), n=1, cutoff=0.7)
    return f"; did you mean {folded[close[0]]!r}?" if close else ""


def _settings(section: type[Any]) -> tuple[dataclasses.Field[Any], ...]:
    return tuple(f for f in dataclasses.fields(section) if not f.metadata.get("internal"))


def _internal(section: type[Any]) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(section) if f.metadata.get("internal"))


def _value(hint: Any, raw: object, path: tuple[str, ...], meta: Mapping[str, Any]) -> Any:
    if get_origin(hint) in (Union, types.UnionType):
        if raw is None:
            return None
        hint = next(a for a in get_args(hint) if a is not type(None))  # X | None only
    origin = get_origin(hint)
    if origin is Literal:
        return _choice(get_args(hint), raw, path)
    if origin is tuple:
        return _items(get_args(hint)[0], raw, path)
    if dataclasses.is_dataclass(hint):
        return build(typing.cast(type[Any], hint), raw, path)
    reader = _SCALARS.get(hint)
    if reader is None:
        raise TypeError(f"{'.'.join(path)}: no reader for {hint!r}")  # a bug in a section
    return reader(hint, raw, path, meta)


def _choice(options: tuple[Any, ...], raw: object, path: tuple[str, ...]) -> Any:
    for option in options:
        if type(raw) is type(option) and raw == option:
            return option
    allowed = ", ".join(repr(o) for o in options)
    raise Invalid(path, f"must be one of {allowed}, got {_shown(raw)}")


def _items(item: Any, raw: object, path: tuple[str, ...]) -> tuple[Any, ...]:
    if not isinstance(raw, list | tuple):
        what = "an array of tables" if dataclasses.is_dataclass(item) else "a list"
        raise Invalid(path, f"expected {what}, got {_shown(raw)}")
    head, key = path[:-1], path[-1]
    out = []
    for index, element in enumerate(raw):
        label = f"{key}[{index}]"
        if isinstance(element, Mapping) and isinstance(element.get("name"), str):
            label += f" ({element['name']})"
        out.append(_value(item, element, (*head, label), {}))
    return tuple(out)


def _boolean(kind: type[Any], raw: object, path: tuple[str, ...], meta: Mapping[str, Any]) -> bool:
    del kind, meta
    if isinstance(raw, bool):
        return raw
    word = raw.strip().casefold() if isinstance(raw, str) else raw
    if word in _TRUE or word == 1:
        return True
    if word in _FALSE or word == 0:
        return False
    raise Invalid(path, f"expected true or false, got {_shown(raw)}")


def _number(kind: type[Any], raw: object, path: tuple[str, ...], meta: Mapping[str, Any]) -> float:
    return _bounded(_plain_number(kind, raw, path), path, meta)


def _plain_number(kind: type[Any], raw: object, path: tuple[str, ...]) -> float:
    value: object = raw
    if isinstance(raw, str):
        try:
            value = float(raw.strip()) if kind is float else int(raw.strip())
        except ValueError:
            value = None
    if isinstance(value, float) and kind is int and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        value = None
    if value is None or (kind is int and not isinstance(value, int)):
        noun = "a whole number" if kind is int else "a number"
        raise Invalid(path, f"expected {noun}, got {_shown(raw)}")
    if not math.isfinite(value):
        raise Invalid(path, f"must be a finite number, got {_shown(raw)}")
    return int(value) if kind is int else float(value)


def _bounded(value: float, path: tuple[str, ...], meta: Mapping[str, Any]) -> float:
    if "gt" in meta and not value > meta["gt"]:
        raise Invalid(path, f"must be greater than {meta['gt']:g}, got {value:g}")
    if "ge" in meta and not value >= meta["ge"]:
        raise Invalid(path, f"must be at least {meta['ge']:g}, got {value:g}")
    if "le" in meta and not value <= meta["le"]:
        raise Invalid(path, f"must be at most {meta['le']:g}, got {value:g}")
    return value


def _text(kind: type[Any], raw: object, path: tuple[str, ...], meta: Mapping[str, Any]) -> str:
    del kind
    if not isinstance(raw, str):
        raise Invalid(path, f"expected a string, got {_shown(raw)}")
    shortest = meta.get("min_length", 0)
    if len(raw) < shortest:
        need = "must not be empty" if shortest == 1 else f"needs {shortest} characters or more"
        raise Invalid(path, need)
    return raw


_Reader = Callable[[type[Any], object, tuple[str, ...], Mapping[str, Any]], Any]
_SCALARS: dict[object, _Reader] = {bool: _boolean, int: _number, float: _number, str: _text}


def _shown(raw: object) -> str:
    if isinstance(raw, Mapping):
        return "a table"
    if isinstance(raw, list | tuple):
        return "a list"
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."

"""Reading CKAN Action API parameters: numbers, booleans, JSON-encoded lists and objects, and ``fq``.

CKAN clients send parameters as a JSON body (``ckanapi``) or as query-string strings where lists and
objects are JSON-encoded (``facet.field=["organization"]``, ``filters={"a": "b"}``); every helper
accepts both, the way CKAN's validators do. Bad values raise :class:`ValidationFailed` keyed by the
parameter (CKAN's ``Validation Error``); an ``fq`` outside the supported subset raises
:class:`SearchQueryError` (CKAN's ``Search Query Error``).

The ``fq`` subset: whitespace-separated clauses, all ANDed (``AND`` and a leading ``+`` are allowed),
each ``field:value``, ``field:"quoted value"``, ``field:(a OR b)`` or ``field:*``; ``-field:…`` or
``NOT field:…`` excludes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gongshu.errors import GongshuError, ValidationFailed


class SearchQueryError(GongshuError):
    """A ``q`` or ``fq`` gongshu cannot read (CKAN's ``Search Query Error``, 400)."""

    code = "search_query"
    http_status = 400


_CLAUSE = re.compile(
    r"""\s*(?P<neg>[-+!]|NOT\s+)?
        (?P<field>[A-Za-z_][A-Za-z0-9_.]*):
        (?P<value>"(?:[^"\\]|\\.)*"|\([^)]*\)|[^\s()"]+)\s*""",
    re.VERBOSE,
)
_JOINER = re.compile(r"\s*(?:AND|&&)\s+")
_PAREN_VALUE = re.compile(r'"(?:[^"\\]|\\.)*"|[^\s"]+')


def as_int(
    data: Mapping[str, Any], key: str, default: int, *, minimum: int = 0, maximum: int | None = None
) -> int:
    """An integer parameter (a number or its text); CKAN's ``Invalid integer`` otherwise."""
    value = data.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise ValidationFailed({key: ["Invalid integer"]})
    if number < minimum:
        raise ValidationFailed({key: [f"Must be greater than or equal to {minimum}"]})
    if maximum is not None and number > maximum:
        raise ValidationFailed({key: [f"Must be less than or equal to {maximum}"]})
    return number


def as_bool(data: Mapping[str, Any], key: str, default: bool) -> bool:
    """A boolean parameter: ``true``/``false`` (any case), ``1``/``0``, ``yes``/``no`` or a JSON boolean."""
    value = data.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on", "t", "y"):
        return True
    if text in ("false", "0", "no", "off", "f", "n"):
        return False
    raise ValidationFailed({key: ["Value must be one of: true, false"]})


def as_text(data: Mapping[str, Any], key: str, default: str = "") -> str:
    """A text parameter (numbers are read as text)."""
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise ValidationFailed({key: ["Must be a string"]})


def as_list(data: Mapping[str, Any], key: str, *, comma: bool = False) -> list[str] | None:
    """A list of strings: a JSON list, its JSON text, or one string (split at commas when ``comma``)."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise ValidationFailed({key: ["Invalid JSON list"]}) from None
        else:
            return [p.strip() for p in text.split(",") if p.strip()] if comma else [text]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise ValidationFailed({key: ["Must be a list of strings"]})
    return [str(v) for v in value]


def as_object(data: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """A JSON object (or its JSON text), e.g. ``filters``."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationFailed({key: ["Invalid JSON object"]}) from None
    if not isinstance(value, dict):
        raise ValidationFailed({key: ["Must be a JSON object"]})
    return value


def text_or_object(data: Mapping[str, Any], key: str) -> str | dict[str, Any] | None:
    """``q`` of ``datastore_search``: free text, or a JSON object of field → text."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().startswith("{"):
        return as_object(data, key)
    if isinstance(value, dict):
        return value
    return as_text(data, key)


@dataclass(frozen=True)
class ParsedQuery:
    """A ``q`` or ``fq`` read into free text and fielded clauses."""

    text: str
    clauses: tuple[tuple[str, tuple[str, ...], bool], ...]  # (field, values, negate)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _values(raw: str) -> tuple[str, ...]:
    if raw.startswith("(") and raw.endswith(")"):
        parts = [p for p in _PAREN_VALUE.findall(raw[1:-1]) if p not in ("OR", "||")]
        return tuple(_unquote(p) for p in parts)
    return (_unquote(raw),)


def parse_query(text: str, *, free_text: bool) -> ParsedQuery:
    """Split ``text`` into fielded clauses and free text.

    With ``free_text`` (``q``) words that are not ``field:value`` are kept as the search text; without
    (``fq``) anything outside the subset raises :class:`SearchQueryError`.

    Example: ``parse_query('organization:jt -res_format:XLSX', free_text=False).clauses``
    → ``(("organization", ("jt",), False), ("res_format", ("XLSX",), True))``
    """
    clauses: list[tuple[str, tuple[str, ...], bool]] = []
    words: list[str] = []
    position = 0
    source = text.strip()
    if source in ("*:*", "*"):
        return ParsedQuery("", ())
    while position < len(source):
        joiner = _JOINER.match(source, position)
        if joiner and joiner.end() > position:
            position = joiner.end()
            continue
        match = _CLAUSE.match(source, position)
        if match is not None:
            negate = (match.group("neg") or "").strip() in ("-", "!", "NOT")
            clauses.append((match.group("field"), _values(match.group("value")), negate))
            position = match.end()
            continue
        if not free_text:
            raise SearchQueryError(
                f"unsupported fq near {source[position : position + 40]!r}",
                hint='use field:value, field:"quoted value", field:(a OR b) or -field:value clauses',
                value=source,
            )
        end = source.find(" ", position + 1)
        end = len(source) if end < 0 else end
        words.append(source[position:end])
        position = end
    return ParsedQuery(" ".join(w for w in words if w.strip()), tuple(clauses))

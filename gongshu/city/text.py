"""Vectorised string helpers over pyarrow arrays (字符串工具).

All generators build text with these, so no per-row Python runs on the bulk path.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.city import ids

I64 = npt.NDArray[np.int64]
EPOCH_SERIAL = 25569  # Excel serial number of 1970-01-01 (1900 date system)
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate arrays / literals element-wise; a null part makes the result null."""
    return pc.binary_join_element_wise(*parts, "")


def ints(values: I64, width: int = 0) -> pa.Array:
    """Non-negative integers as decimal strings, zero-padded to ``width`` (fast when given)."""
    if width:
        return ids.to_strings(ids.digits(np.asarray(values, dtype=np.int64), width))
    return pa.array(values, type=pa.int64()).cast(pa.string())


def take(table: pa.Array, index: I64) -> pa.Array:
    """``table[index]`` as a pyarrow array."""
    return table.take(pa.array(index, type=pa.int64()))


def where(mask: npt.NDArray[np.bool_], a: pa.Array | str, b: pa.Array | str) -> pa.Array:
    """Element-wise ``a if mask else b``."""
    return pc.if_else(pa.array(mask, type=pa.bool_()), a, b)


def null_where(values: pa.Array, mask: npt.NDArray[np.bool_]) -> pa.Array:
    """``values`` with nulls where ``mask`` is true."""
    return pc.if_else(pa.array(mask, type=pa.bool_()), pa.scalar(None, values.type), values)


def _parts(days: I64) -> tuple[I64, I64, I64]:
    return ids.civil(days)


def _sep(n: int, char: str) -> npt.NDArray[np.uint8]:
    return np.full((n, 1), ord(char), dtype=np.uint8)


def iso_dates(days: I64) -> pa.Array:
    """``2020-05-08`` (built as an ASCII matrix: the fast path)."""
    return ids.to_strings(iso_matrix(days))


def iso_matrix(days: I64) -> npt.NDArray[np.uint8]:
    m = ids.digits(ids.ymd(days), 8)
    n = len(days)
    return np.hstack([m[:, :4], _sep(n, "-"), m[:, 4:6], _sep(n, "-"), m[:, 6:]])


def timestamps(days: I64, seconds: I64) -> pa.Array:
    """``2020-05-08 14:03:09`` for days since the epoch and seconds of the day."""
    n = len(days)
    t = ids.digits((seconds // 3600) * 10_000 + (seconds // 60 % 60) * 100 + seconds % 60, 6)
    return ids.to_strings(
        np.hstack(
            [
                iso_matrix(days),
                _sep(n, " "),
                t[:, :2],
                _sep(n, ":"),
                t[:, 2:4],
                _sep(n, ":"),
                t[:, 4:],
            ]
        )
    )


def date_style(days: I64, style: str) -> pa.Array:
    """Dates in one of the Chinese forms found in department systems.

    ``iso`` 2020-05-08 · ``cn`` 2020年5月8日 · ``slash`` 2020/5/8 · ``compact`` 20200508 ·
    ``dot`` 2020.05.08 · ``serial`` 43959 (Excel 1900 date system).
    """
    y, m, d = _parts(days)
    if style == "iso":
        return iso_dates(days)
    if style == "cn":
        return join(ints(y), "年", ints(m), "月", ints(d), "日")
    if style == "slash":
        return join(ints(y), "/", ints(m), "/", ints(d))
    if style == "compact":
        return ids.to_strings(ids.digits(ids.ymd(days), 8))
    if style == "dot":
        return join(ints(y, 4), ".", ints(m, 2), ".", ints(d, 2))
    if style == "serial":
        return ints(days + EPOCH_SERIAL)
    raise ValueError(f"unknown date style {style!r}")


def fullwidth_digits(values: pa.Array) -> pa.Array:
    """Replace ASCII digits 0-9 by full-width ０-９ (全角数字)."""
    out = values
    for ascii_digit, wide in zip("0123456789", "０１２３４５６７８９", strict=True):
        out = pc.replace_substring(out, ascii_digit, wide)
    return out


def put(values: pa.Array, index: I64, new: pa.Array) -> pa.Array:
    """``values`` with ``values[index] = new`` (vectorised scatter)."""
    if len(index) == 0:
        return values
    order = np.argsort(index, kind="stable")
    mask = np.zeros(len(values), dtype=bool)
    mask[index] = True
    replacements = new.cast(values.type).take(pa.array(order))
    return pc.replace_with_mask(values, pa.array(mask), replacements)


def as_text(values: pa.Array) -> pa.Array:
    """Any array as strings (for the manifest's planted / clean columns)."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values
    if pa.types.is_floating(values.type):
        return pc.cast(values, pa.string())
    return values.cast(pa.string())

"""Identifier generation and check characters (标识码生成与校验).

* 公民身份号码 (GB 11643-1999): 6-digit area code, 8-digit birth date, 3-digit order code whose last
  digit is odd for men, and a MOD 11-2 check character (``X`` for 10).
* 统一社会信用代码 (GB 32100-2015): registration-authority code, category code, 6-digit division
  code, 9-character organisation code (GB 11714: 8 body characters + its own MOD 11 check) and a
  MOD 31 check character over ``0123456789ABCDEFGHJKLMNPQRTUWXY``.
* 车辆识别代号 VIN (GB 16735-2019): 17 characters, the 9th is a MOD 11 check character.

The scalar functions are the reference; the vectorised builders work on ASCII code matrices
(one row per code, one uint8 column per character) and are checked against the scalars in tests.

Example::

    >>> id_check_char("11010519491231002")
    'X'
    >>> uscc_check_char("91310000MA1FL8KQ3")
    'C'
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN_VALUES = dict(
    zip(
        "ABCDEFGHJKLMNPRSTUVWXYZ",
        (1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9),
        strict=True,
    )
)


def id_check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits of a 身份证号."""
    total = sum(int(ch) * w for ch, w in zip(first17, ID_WEIGHTS, strict=True))
    return "0123456789X"[(12 - total % 11) % 11]


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters of a 统一社会信用代码."""
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    """The GB 11714 check character of an 8-character organisation-code body (组织机构代码)."""
    total = sum(int(ch, 36) * w for ch, w in zip(body8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def vin_check_char(vin: str) -> str:
    """The GB 16735 check character (position 9) of a 17-character VIN."""
    total = sum(
        (int(ch) if ch.isdigit() else VIN_VALUES[ch]) * w for ch, w in zip(vin, VIN_WEIGHTS, strict=True)
    )
    return "X" if total % 11 == 10 else str(total % 11)


# --- vectorised helpers -------------------------------------------------------------------------


def digits(values: I64, width: int) -> U8:
    """ASCII digit matrix of non-negative integers, zero-padded to ``width``."""
    out = np.empty((len(values), width), dtype=np.uint8)
    v = np.asarray(values, dtype=np.int32 if width <= 9 else np.int64)
    for k in range(width - 1, -1, -1):
        out[:, k] = v % 10
        v = v // 10
    out += 48
    return out


def letters(alphabet: str, index: npt.NDArray[np.integer[Any]]) -> U8:
    """ASCII column (n, 1) of ``alphabet[index]``."""
    table = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    column: U8 = table[index][:, None]
    return column


def to_strings(matrix: U8) -> pa.Array:
    """Turn an ASCII matrix into a pyarrow string array (one string per row)."""
    m = np.ascontiguousarray(matrix, dtype=np.uint8)
    n, width = m.shape
    offsets = np.arange(n + 1, dtype=np.int32) * width
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(m)])


def _lookup(alphabet_values: dict[str, int]) -> I64:
    table = np.full(128, -1, dtype=np.int64)
    for ch, v in alphabet_values.items():
        table[ord(ch)] = v
    return table


_USCC_TABLE = _lookup({ch: i for i, ch in enumerate(USCC_ALPHABET)})
_ORG_TABLE = _lookup({ch: int(ch, 36) for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
_VIN_TABLE = _lookup({**{str(d): d for d in range(10)}, **VIN_VALUES})


def id_check_chars(first17: U8) -> U8:
    """Vectorised :func:`id_check_char` over an (n, 17) ASCII matrix."""
    total = (first17.astype(np.int32) - 48) @ np.array(ID_WEIGHTS, dtype=np.int32)
    return letters("0123456789X", (12 - total % 11) % 11)


def uscc_check_chars(first17: U8) -> U8:
    """Vectorised :func:`uscc_check_char` over an (n, 17) ASCII matrix."""
    total = _USCC_TABLE[first17] @ np.array(USCC_WEIGHTS, dtype=np.int64)
    return letters(USCC_ALPHABET, (31 - total % 31) % 31)


def org_code_check_chars(body8: U8) -> U8:
    """Vectorised :func:`org_code_check_char` over an (n, 8) ASCII matrix."""
    check = 11 - (_ORG_TABLE[body8] @ np.array(ORG_WEIGHTS, dtype=np.int64)) % 11
    return letters("0123456789X0", check % 12)


def vin_check_chars(vin17: U8) -> U8:
    """Vectorised :func:`vin_check_char` over an (n, 17) ASCII matrix."""
    total = _VIN_TABLE[vin17] @ np.array(VIN_WEIGHTS, dtype=np.int64)
    return letters("0123456789X", total % 11)


def civil(days: I64) -> tuple[I64, I64, I64]:
    """Days since 1970-01-01 → (year, month, day), integer arithmetic (H. Hinnant's algorithm)."""
    z = np.asarray(days, dtype=np.int64) + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def ymd(days: I64) -> I64:
    """Days since 1970-01-01 → yyyymmdd integers."""
    year, month, day = civil(days)
    return np.asarray(year * 10000 + month * 100 + day, dtype=np.int64)


def id_numbers(area: I64, birth_days: I64, order: I64) -> tuple[U8, pa.Array]:
    """18-digit 身份证号 for area codes, birth dates (days since epoch) and order codes 0-999."""
    body = np.hstack([digits(area, 6), digits(ymd(birth_days), 8), digits(order, 3)])
    m = np.hstack([body, id_check_chars(body)])
    return m, to_strings(m)


def legacy_id_numbers(id18: U8) -> pa.Array:
    """15-digit legacy 身份证号 (GB 11643 old format: 2-digit year, no check character)."""
    return to_strings(np.hstack([id18[:, :6], id18[:, 8:17]]))


def org_codes(body8: U8) -> U8:
    """9-character organisation codes (GB 11714) from their 8-character bodies."""
    return np.hstack([body8, org_code_check_chars(body8)])


def usccs(authority: U8, category: U8, division: I64, org9: U8) -> tuple[U8, pa.Array]:
    """统一社会信用代码 from one-character authority / category columns, division codes, org codes."""
    first17 = np.hstack([authority, category, digits(division, 6), org9])
    m = np.hstack([first17, uscc_check_chars(first17)])
    return m, to_strings(m)


def vins(wmi: U8, vds: U8, year_code: U8, plant: U8, serial: I64) -> tuple[U8, pa.Array]:
    """VINs from WMI (n,3), VDS (n,5), model-year (n,1), plant (n,1) and 6-digit serials."""
    m = np.hstack([wmi, vds, np.full((len(wmi), 1), 48, np.uint8), year_code, plant, digits(serial, 6)])
    m[:, 8:9] = vin_check_chars(m)
    return m, to_strings(m)

"""Independent reference checks, written differently from gongshu.city.ids on purpose."""

from __future__ import annotations

import datetime as dt

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def id_ok(number: str) -> bool:
    """GB 11643: 17 digits + MOD 11-2 check (computed as 2^(17-i) mod 11 weights), real date."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = 0
    for w, ch in zip(weights, number[:17], strict=True):
        s += w * (ord(ch) - 48)
    expected = "10X98765432"[s % 11]
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return number[17] == expected


def uscc_ok(code: str) -> bool:
    """GB 32100: weights 3^i mod 31 over the 31-char alphabet; check = 31 - sum mod 31."""
    if len(code) != 18 or any(c not in USCC_CHARS for c in code):
        return False
    s, w = 0, 1
    for ch in code[:17]:
        s += USCC_CHARS.index(ch) * w
        w = w * 3 % 31
    return USCC_CHARS[-s % 31] == code[17]


def org_code_ok(code9: str) -> bool:
    """GB 11714: weights 3,7,9,10,5,8,4,2; check 11 - sum mod 11 (10 → X, 11 → 0)."""
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in code9[:8]]
    c = 11 - sum(v * w for v, w in zip(values, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return code9[8] == {10: "X", 11: "0"}.get(c, str(c))


VIN_T = {
    **{str(i): i for i in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}


def vin_ok(vin: str) -> bool:
    """GB 16735 / ISO 3779: transliterate, weights 8..2,10,0,9..2, check = sum mod 11."""
    if len(vin) != 17 or any(c in "IOQ" for c in vin):
        return False
    weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
    r = sum(VIN_T[c] * w for c, w in zip(vin, weights, strict=True)) % 11
    return vin[8] == ("X" if r == 10 else str(r))

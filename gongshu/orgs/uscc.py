"""统一社会信用代码 (GB 32100-2015) check, right for letter-initial registration codes.

python-stdnum's ``cn.uscc`` requires the first eight characters to be digits and so rejects valid
codes whose registration-authority code is a letter (A, N, Y ...). This check follows the standard.
"""

from __future__ import annotations

import re

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = re.compile(r"^[1-9A-HJ-NP-RTUWXY][0-9A-HJ-NP-RTUWXY]\d{6}[0-9A-HJ-NP-RTUWXY]{10}$")


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """True for a well-formed 18-character code with the right check character."""
    return bool(_SHAPE.match(code)) and uscc_check_char(code[:17]) == code[17]

"""Reference data: area codes are known to python-stdnum in the years they are used."""

from __future__ import annotations

from stdnum.cn import ric

from gongshu.city.ids import id_check_char
from gongshu.city.reference import reference


def _valid(code: int, year: int) -> bool:
    body = f"{code:06d}{year}0601001"
    try:
        ric.validate(body + id_check_char(body))
    except Exception:
        return False
    return True


def test_area_codes_valid_in_their_years() -> None:
    areas = reference().areas
    for code, start, end in zip(areas.code, areas.start, areas.end, strict=True):
        for year in {max(int(start), 1925), min(int(end), 2025)}:
            assert _valid(int(code), year), (code, year)


def test_every_birth_year_has_codes() -> None:
    areas = reference().areas
    for owner in set(areas.owner.tolist()):
        for year in range(1925, 2026):
            ok = (areas.owner == owner) & (areas.start <= year) & (year <= areas.end)
            assert ok.any(), (owner, year)


def test_unknown_area_codes_are_unknown() -> None:
    for code in reference().unknown_area_codes:
        assert not _valid(int(code), 1980)


def test_districts() -> None:
    ref = reference()
    assert len(ref.district_code) == 16
    assert len(ref.streets) == len(ref.roads) == 16

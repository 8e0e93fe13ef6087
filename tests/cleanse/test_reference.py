"""Reference data of the rules agrees with its sources: district centres, area codes."""

from __future__ import annotations

from gongshu.city.reference import load_yaml, reference
from gongshu.cleanse.reference import area_codes, districts


def test_district_centres_agree_with_the_synthetic_city() -> None:
    city = load_yaml("orgs/data/districts.yaml")
    ours = districts().items
    assert [(d.code, d.name, d.lon, d.lat) for d in ours] == [
        (str(d["code"]), d["name"], float(d["lon"]), float(d["lat"])) for d in city
    ]


def test_area_codes_come_from_stdnum_loc_dat() -> None:
    codes = area_codes()
    assert len(codes) > 6000 and codes == tuple(sorted(set(codes)))
    assert {"110101", "310101", "310103", "310230", "820000"} <= set(codes)


def test_every_area_code_the_city_issues_is_known_and_its_unknown_ones_are_not() -> None:
    ref = reference()
    known = set(area_codes())
    assert {f"{c:06d}" for c in ref.areas.code} <= known
    assert not {f"{c:06d}" for c in ref.unknown_area_codes} & known


def test_district_names_have_unique_keys() -> None:
    names = [n for n, _ in districts().names()]
    assert len({n[:3] for n in names}) == len(names)

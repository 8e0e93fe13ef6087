"""Chinese search (jieba) and facets of the catalogue."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongshu.catalogue import browse, entries
from gongshu.catalogue.browse import CatalogQuery
from gongshu.catalogue.search import segment
from gongshu.orgs.roles import Principal
from tests.helpers import entry_doc, seed_basics

GENERAL_ITEM = {
    "name": "total",
    "label": "数量",
    "type": "N",
    "length": 10,
    "element": "DE0904",
    "grade": "一般",
}


def _publish(session: Session, people: dict[str, Principal], steward: str, **changes: object) -> None:
    spec = entries.parse_spec(entry_doc(**changes))
    entries.create_entry(session, people[steward], spec)
    entries.transition(session, people[steward], spec.code, "submit")
    entries.transition(session, people["operator"], spec.code, "publish")


def _seed(session: Session) -> dict[str, Principal]:
    people = seed_basics(session)
    _publish(session, people, "ga_steward")
    _publish(
        session,
        people,
        "mz_steward",
        code="301002001/000001",
        name="婚姻登记信息",
        provider="MZ",
        summary="本市婚姻登记（结婚、离婚）记录",
        tags=["婚姻"],
        update_cycle="每月",
    )
    _publish(
        session,
        people,
        "mz_steward",
        code="301002001/000002",
        name="死亡登记信息",
        provider="MZ",
        summary="本市居民死亡登记记录",
        tags=["死亡", "殡葬"],
        share_type="无条件共享",
        share_condition=None,
    )
    _publish(
        session,
        people,
        "operator",
        code="201001001/000001",
        name="浦东新区养老机构名录",
        provider="D310115",
        summary="浦东新区养老机构名称、床位数",
        open_type="无条件开放",
        open_basis=None,
        items=[GENERAL_ITEM],
        format="电子表格",
        tags=["养老"],
    )
    return people


def test_segmentation_splits_chinese_words() -> None:
    assert {"人口", "信息"} <= set(segment("实有人口基本信息"))
    assert segment("，。！ ") == []


def test_chinese_queries_find_the_right_entries(session: Session) -> None:
    people = _seed(session)
    actor = people["consumer"]

    def codes(q: str) -> list[str]:
        return [e.code for e in browse.search_entries(session, actor, CatalogQuery(q=q)).entries]

    assert codes("人口") == ["301001001/000001"]
    assert codes("婚姻登记") == ["301002001/000001"]
    assert codes("养老机构") == ["201001001/000001"]
    assert set(codes("登记信息")) == {"301002001/000001", "301002001/000002"}
    assert codes("301002001/000002") == ["301002001/000002"]
    assert codes("殡葬") == ["301002001/000002"]  # tags are searched
    assert codes("民政局") == ["301002001/000001", "301002001/000002"]  # so is the provider's name


def test_a_query_with_no_full_match_falls_back_to_any_word(session: Session) -> None:
    people = _seed(session)
    page = browse.search_entries(session, people["consumer"], CatalogQuery(q="婚姻 火星"))
    assert page.fallback and [e.code for e in page.entries] == ["301002001/000001"]


def test_facets_count_the_result_and_filters_narrow_it(session: Session) -> None:
    people = _seed(session)
    actor = people["consumer"]
    everything = browse.search_entries(session, actor, CatalogQuery())
    assert everything.total == 4
    providers = {f.value: f.count for f in everything.facets["provider"]}
    assert providers == {"GA": 1, "MZ": 2, "D310115": 1}
    districts = {f.value: (f.label, f.count) for f in everything.facets["district"]}
    assert districts == {"310000": ("上海市", 3), "310115": ("浦东新区", 1)}
    narrowed = browse.search_entries(session, actor, CatalogQuery(provider="MZ", share_type="无条件共享"))
    assert [e.code for e in narrowed.entries] == ["301002001/000002"]
    assert {f.value: f.count for f in narrowed.facets["share_type"]} == {"无条件共享": 1}
    paged = browse.search_entries(session, actor, CatalogQuery(per_page=3, page=2))
    assert paged.total == 4 and len(paged.entries) == 1


def test_search_hides_other_organisations_drafts(session: Session) -> None:
    people = _seed(session)
    entries.create_entry(
        session, people["ga_steward"], entries.parse_spec(entry_doc(code="301001001/000009", name="人口草稿"))
    )
    assert browse.search_entries(session, people["consumer"], CatalogQuery(q="人口")).total == 1
    assert browse.search_entries(session, people["ga_steward"], CatalogQuery(q="人口")).total == 2

"""The portal's search index: filters, facets, sorts, paging, Chinese matching, rebuilds, speed."""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from gongshu.catalogue.models import CatalogEntry
from gongshu.errors import ValidationFailed
from gongshu.open.index import (
    FACET_FIELDS,
    Clause,
    PortalIndex,
    SearchQuery,
    _holder,
    parse_sort,
    portal_index,
)
from gongshu.platform import Platform
from gongshu.store.base import utcnow
from tests.open.conftest import ADDRESSES
from tests.open.search_support import corpus_datasets, make_dataset, synthetic_datasets


@pytest.fixture(scope="module")
def index() -> PortalIndex:
    return PortalIndex(corpus_datasets())


def titles(index: PortalIndex, query: SearchQuery) -> list[str]:
    return [d.title for d in index.search(query).datasets]


def test_facet_counts_equal_drill_down(index: PortalIndex) -> None:
    found = index.search(SearchQuery(rows=0, facet_fields=FACET_FIELDS, facet_limit=-1))
    assert found.count == 200
    for field in FACET_FIELDS:
        for item in found.facets[field]:
            drilled = index.search(SearchQuery(clauses=(Clause(field, (item.name,)),), rows=0))
            assert drilled.count == item.count, (field, item)
    for field in ("organization", "update_cycle", "open_type", "groups"):
        assert sum(i.count for i in found.facets[field]) == 200, field
    organizations = {i.name: i for i in found.facets["organization"]}
    assert organizations["jt"].display_name == "上海市交通委员会"
    groups = {i.name: i for i in found.facets["groups"]}
    assert groups["transport"].display_name == "道路交通" and groups["transport"].display_name_en


def test_facets_follow_the_query(index: PortalIndex) -> None:
    found = index.search(SearchQuery(q="停车", facet_fields=("organization",), rows=100))
    assert {i.name for i in found.facets["organization"]} == {d.provider_code.lower() for d in found.datasets}
    assert sum(i.count for i in found.facets["organization"]) == found.count


def test_clauses_or_within_and_across_and_negation(index: PortalIndex) -> None:
    jt = index.search(SearchQuery(clauses=(Clause("organization", ("JT",)),), rows=0)).count
    mz = index.search(SearchQuery(clauses=(Clause("organization", ("mz",)),), rows=0)).count
    both = index.search(SearchQuery(clauses=(Clause("organization", ("jt", "mz")),), rows=0)).count
    assert both == jt + mz and jt > 0 and mz > 0
    by_title = index.search(SearchQuery(clauses=(Clause("organization", ("上海市交通委员会",)),), rows=0))
    assert by_title.count == jt
    conditional = index.search(
        SearchQuery(clauses=(Clause("organization", ("jt",)), Clause("open_type", ("有条件开放",))), rows=10)
    )
    assert [d.title for d in conditional.datasets] == ["道路运输经营许可信息"]
    not_jt = index.search(SearchQuery(clauses=(Clause("organization", ("jt",), negate=True),), rows=0))
    assert not_jt.count == 200 - jt
    unknown = index.search(SearchQuery(clauses=(Clause("tags", ("没有这个标签",)),), rows=0))
    assert unknown.count == 0
    anything = index.search(SearchQuery(clauses=(Clause("groups", ("*",)),), rows=0))
    assert anything.count == 200
    with pytest.raises(ValidationFailed):
        index.search(SearchQuery(clauses=(Clause("secret", ("x",)),)))


def test_sorts_are_total_orders_for_paging(index: PortalIndex) -> None:
    for sort in (
        "score desc, metadata_modified desc",
        "metadata_modified desc",
        "title_string asc",
        "name desc",
    ):
        seen = []
        for start in range(0, 200, 7):
            seen += [d.name for d in index.search(SearchQuery(sort=sort, start=start, rows=7)).datasets]
        assert len(seen) == len(set(seen)) == 200, sort
    by_title = titles(index, SearchQuery(sort="title_string asc", rows=200))
    assert by_title == sorted(by_title)
    modified = [
        d.modified for d in index.search(SearchQuery(sort="metadata_modified desc", rows=200)).datasets
    ]
    assert modified == sorted(modified, reverse=True)
    assert parse_sort("title asc") == [("title_string", False)]
    for bad in ("secret desc", "name sideways", "name asc extra"):
        with pytest.raises(ValidationFailed):
            parse_sort(bad)


def test_chinese_matching(index: PortalIndex) -> None:
    assert titles(index, SearchQuery(q="公共停车场信息"))[0] == "公共停车场信息"
    short = titles(index, SearchQuery(q="停车"))
    assert "公共停车场信息" in short and "道路停车收费泊位信息" in short
    partial = index.search(SearchQuery(q="公积"))
    assert not partial.fallback and all("公积金" in d.title for d in partial.datasets)
    assert titles(index, SearchQuery(q="地铁"))[0] == "轨道交通站点信息"  # its summary says 地铁
    fallback = index.search(SearchQuery(q="停车 火星基地"))
    assert fallback.fallback and "公共停车场信息" in [d.title for d in fallback.datasets]
    every = index.search(SearchQuery(q="停车 收费"))
    assert not every.fallback and every.count < fallback.count
    code = corpus_datasets()[0].code
    assert index.search(SearchQuery(q=code)).datasets[0].code == code
    assert index.search(SearchQuery(q="！？")).count == 0


def test_only_published_items_are_searchable() -> None:
    kept = make_dataset(
        1,
        code="900001001/000001",
        title="企业信息",
        department="X",
        department_name="某局",
        items=["企业名称"],
        hidden_items=["法定代表人身份证号码"],
    )
    index = PortalIndex([kept])
    assert index.search(SearchQuery(q="企业名称")).count == 1
    assert index.search(SearchQuery(q="身份证号码")).count == 0
    assert index.search(SearchQuery(q="法定代表人")).count == 0


def test_unpublished_datasets_facet_their_catalogue_format() -> None:
    done = make_dataset(1, code="900001001/000001", title="甲", department="X", department_name="某局")
    pending = make_dataset(
        2, code="900001001/000002", title="乙", department="X", department_name="某局", published=False
    )
    found = PortalIndex([done, pending]).search(SearchQuery(facet_fields=("res_format",)))
    assert {i.name: i.count for i in found.facets["res_format"]} == {
        "CSV": 1,
        "JSON": 1,
        "XLSX": 1,
        "电子表格": 1,
    }


def test_the_platform_index_follows_the_catalogue(portal: Platform) -> None:
    first = portal_index(portal)
    assert first.get(ADDRESSES.replace("/", "-")) is not None
    assert portal_index(portal) is first  # within open_refresh_s: no check at all
    _holder(portal).checked_at = 0.0
    assert portal_index(portal) is first  # checked, unchanged watermark: the same index
    with portal.store.session() as session:
        session.execute(
            sa.update(CatalogEntry)
            .where(CatalogEntry.code == ADDRESSES)
            .values(name="标准地址信息（新版）", updated_at=utcnow() + timedelta(seconds=1))
        )
    _holder(portal).checked_at = 0.0
    second = portal_index(portal)
    assert second is not first
    assert [d.title for d in second.search(SearchQuery(q="新版")).datasets] == ["标准地址信息（新版）"]


def test_search_is_fast_at_five_thousand() -> None:
    index = PortalIndex(synthetic_datasets(5000))
    organizations = [i.name for i in index.facet_all("organization")]
    timings = []
    for n, q in enumerate(
        ["停车", "公交 线路", "养老", "学校", "空气质量", "企业", "公积金", "黄浦区 医院"] * 10
    ):
        query = SearchQuery(
            q=q,
            clauses=(
                Clause("organization", (organizations[n % len(organizations)],)),
                Clause("res_format", ("CSV",)),
                Clause("open_type", ("无条件开放",)),
            ),
            facet_fields=FACET_FIELDS,
            rows=20,
        )
        started = time.perf_counter()
        index.search(query)
        timings.append(time.perf_counter() - started)
    p95 = float(np.percentile(timings, 95)) * 1000
    print(f"\nsearch at 5,000 datasets, q + 3 facet filters + 6 facets: p95 {p95:.1f} ms")
    assert p95 < 100

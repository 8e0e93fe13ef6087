"""Chinese search quality on a fixed corpus: recall@10 over ≥ 50 realistic queries must be ≥ 0.95.

The corpus (``data/search_corpus.yaml``) is 200 synthetic open datasets modelled on a Chinese city's
portal; each query lists the datasets a citizen expects among the first ten results (abbreviations
such as 公厕 and 医保, partial words such as 停车 and 公积, and synonyms only where a dataset's own
tags or summary use them, such as 地铁 for 轨道交通 and 企业 for 市场主体).
"""

from __future__ import annotations

from gongshu.open.index import PortalIndex, SearchQuery
from tests.open.search_support import corpus, corpus_datasets

TOP = 10
REQUIRED_RECALL = 0.95


def test_corpus_is_realistic_in_size() -> None:
    assert len(corpus()["datasets"]) >= 200
    assert len(corpus()["queries"]) >= 50
    titles = {d["title"] for d in corpus()["datasets"]}
    for query in corpus()["queries"]:
        assert set(query["expect"]) <= titles, query


def test_recall_at_ten() -> None:
    index = PortalIndex(corpus_datasets())
    expected = found = 0
    missed = []
    for query in corpus()["queries"]:
        shown = [d.title for d in index.search(SearchQuery(q=query["q"], rows=TOP)).datasets]
        for title in query["expect"]:
            expected += 1
            if title in shown:
                found += 1
            else:
                missed.append((query["q"], title, shown[:3]))
    recall = found / expected
    print(f"\nrecall@{TOP} = {recall:.3f} ({found}/{expected} over {len(corpus()['queries'])} queries)")
    for miss in missed:
        print("  missed:", miss)
    assert recall >= REQUIRED_RECALL, missed


def test_first_result_is_the_named_dataset() -> None:
    """Typing a dataset's exact title puts it first (a precision check beside recall)."""
    index = PortalIndex(corpus_datasets())
    wrong = [
        d["title"]
        for d in corpus()["datasets"]
        if index.search(SearchQuery(q=d["title"], rows=1)).datasets[0].title != d["title"]
    ]
    assert not wrong

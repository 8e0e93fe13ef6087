"""Chinese full-text search of the catalogue: jieba segmentation into a portable inverted index.

Each entry's text is segmented with ``jieba.cut_for_search`` (fine-grained, overlapping words)
into ``catalog_search_terms`` with field weights. A query is segmented the same way; entries that
contain every query word rank by summed weight, and when none does, entries containing any word
are returned instead (so a long query still finds something). Plain SQL: SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import re
import threading

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry, CatalogSearchTerm

FIELD_WEIGHTS = {"name": 3.0, "tags": 2.0, "provider": 1.5, "items": 1.0, "summary": 1.0}
_WORD = re.compile(r"\w", re.UNICODE)
_jieba_lock = threading.Lock()
_jieba_ready = False


def _jieba() -> object:
    global _jieba_ready
    import jieba

    with _jieba_lock:
        if not _jieba_ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba_ready = True
    return jieba


def segment(text: str) -> list[str]:
    """Search words of ``text``: jieba's fine-grained segmentation, lower-cased, punctuation dropped.

    Example: ``segment("实有人口基本信息")`` → ``["实有", "人口", "基本", "信息"]``
    """
    jieba = _jieba()
    words = (word.strip().lower() for word in jieba.cut_for_search(text))  # type: ignore[attr-defined]
    return [word[:64] for word in words if word and _WORD.search(word)]


def entry_terms(entry: CatalogEntry) -> dict[str, float]:
    """Weighted words of one entry."""
    texts = {
        "name": [entry.name, entry.code],
        "tags": list(entry.tags),
        "provider": [entry.provider.name] if entry.provider else [],
        "items": [item.label for item in entry.items],
        "summary": [entry.summary],
    }
    weights: dict[str, float] = {}
    for field, values in texts.items():
        for value in values:
            for word in set(segment(value)):
                weights[word] = weights.get(word, 0.0) + FIELD_WEIGHTS[field]
    return weights


def index_entry(session: Session, entry: CatalogEntry) -> None:
    """Replace the entry's words in the index."""
    session.execute(sa.delete(CatalogSearchTerm).where(CatalogSearchTerm.entry_id == entry.id))
    session.add_all(
        CatalogSearchTerm(entry_id=entry.id, term=term, weight=weight)
        for term, weight in entry_terms(entry).items()
    )
    session.flush()


def matching_ids(q: str, *, every_word: bool) -> sa.Select[int, float] | None:
    """A query of ``(entry_id, score)`` for the search text ``q``; ``None`` when q has no words.

    With ``every_word`` only entries holding all of the query's words match; otherwise any word.
    """
    words = sorted(set(segment(q)))
    if not words:
        return None
    score = sa.func.sum(CatalogSearchTerm.weight).label("score")
    query = (
        sa.select(CatalogSearchTerm.entry_id, score)
        .where(CatalogSearchTerm.term.in_(words))
        .group_by(CatalogSearchTerm.entry_id)
    )
    if every_word:
        query = query.having(sa.func.count(CatalogSearchTerm.term) == len(words))
    return query

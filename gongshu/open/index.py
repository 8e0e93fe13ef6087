"""The portal's search index (检索索引): every open dataset in memory, Chinese search, facets, sorts.

:class:`PortalIndex` holds the documents of :func:`~gongshu.open.datasets.load_open_datasets` as numpy
arrays so that a query with words and three facet filters over 50,000 datasets answers in a few
milliseconds: text postings (jieba words → dataset ids and weights), facet postings (value → dataset
ids) and facet pairs counted with ``np.bincount``. :func:`portal_index` keeps one index per platform
and rebuilds it when :func:`~gongshu.open.datasets.catalogue_watermark` changes (checked at most every
``settings.open_refresh_s``). The CKAN ``package_search`` action and the search page both call
:meth:`PortalIndex.search`.

Text matching follows the catalogue's search (ADR 0005): the query is segmented with
:func:`gongshu.catalogue.search.segment`; datasets holding every word rank by weight (title ×3, tags
×2, department ×1.5, published 信息项 labels ×1, summary ×1, 数据领域 ×0.5, each times the word's
rarity); when no dataset holds every word, datasets holding any word are returned instead. A query
that is a substring of a title (``停车``) always matches that title. Only published (一般) 信息项 are
indexed: nothing about other items can be found.

Example::

    index = portal_index(platform)
    found = index.search(SearchQuery(q="停车", clauses=(Clause("organization", ("jt",)),),
                                     facet_fields=("res_format",)))
    found.count, [d.name for d in found.datasets], found.facets["res_format"]
"""

from __future__ import annotations

import math
import re
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from gongshu.catalogue.search import segment
from gongshu.catalogue.specs import Theme
from gongshu.errors import ValidationFailed
from gongshu.open.datasets import OpenDataset, catalogue_watermark, load_open_datasets
from gongshu.platform import Platform

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Text fields and their weights (a word's weight in a dataset is the sum over the fields holding it).
FIELD_WEIGHTS = {"title": 3.0, "tags": 2.0, "department": 1.5, "items": 1.0, "summary": 1.0, "theme": 0.5}
#: Added to the score of a dataset whose title holds the whole query as a substring.
TITLE_SUBSTRING_BOOST = 6.0
#: Words dropped from a query (when other words remain): they carry no meaning for the search.
STOP_WORDS = frozenset({"的", "和", "与", "及", "了", "在", "是", "或", "之", "等"})
#: Facet fields, in the order the page shows them (tags last).
FACET_FIELDS = ("organization", "groups", "res_format", "update_cycle", "open_type", "tags")
#: Fields a clause may filter on: the facets, and ``name`` (one dataset by its public name).
FILTER_FIELDS = (*FACET_FIELDS, "name")
#: Sort fields and the default order (CKAN's: relevance, then newest).
SORT_FIELDS = ("score", "metadata_modified", "metadata_created", "title_string", "name")
DEFAULT_SORT = "score desc, metadata_modified desc"
#: 数据领域 as CKAN groups: the theme, its group name and its English title.
THEME_GROUPS: dict[str, tuple[str, str]] = {
    Theme.ECONOMY.value: ("economy", "Economy"),
    Theme.ENVIRONMENT.value: ("environment", "Resources and environment"),
    Theme.EDUCATION.value: ("education", "Education, science and technology"),
    Theme.TRANSPORT.value: ("transport", "Roads and transport"),
    Theme.SOCIETY.value: ("society", "Social development"),
    Theme.SAFETY.value: ("safety", "Public safety"),
    Theme.CULTURE.value: ("culture", "Culture and leisure"),
    Theme.HEALTH.value: ("health", "Health"),
    Theme.LIVELIHOOD.value: ("livelihood", "Livelihood services"),
    Theme.ORGANISATIONS.value: ("organisations", "Institutions and organisations"),
    Theme.URBAN.value: ("urban", "Urban construction"),
    Theme.CREDIT.value: ("credit", "Credit services"),
}


@dataclass(frozen=True)
class Clause:
    """A filter: datasets whose ``field`` holds any of ``values`` (``*``: any value); ``negate`` inverts."""

    field: str
    values: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class SearchQuery:
    """One search: text, filter clauses (ANDed), sort, page and facets to count."""

    q: str = ""
    clauses: tuple[Clause, ...] = ()
    sort: str = DEFAULT_SORT
    start: int = 0
    rows: int = 10
    facet_fields: tuple[str, ...] = ()
    facet_limit: int = 50  # negative: every value
    facet_mincount: int = 1


@dataclass(frozen=True)
class FacetItem:
    """One value of a facet with its count among the matching datasets."""

    name: str
    display_name: str
    display_name_en: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    """The matching datasets' count, the requested page of them, and the facets' counts."""

    count: int
    datasets: list[OpenDataset]
    facets: dict[str, list[FacetItem]]
    fallback: bool  # no dataset held every word: datasets holding any word were returned
    words: tuple[str, ...]


def group_name(theme: str | None) -> str | None:
    """The CKAN group name of a 数据领域 (``经济建设`` → ``economy``)."""
    return THEME_GROUPS[theme][0] if theme in THEME_GROUPS else None


def res_formats(dataset: OpenDataset) -> tuple[str, ...]:
    """The formats a dataset offers: its published files (CSV, JSON, XLSX), else its catalogue format."""
    if dataset.publication is None:
        return (dataset.format,) if dataset.format else ()
    files = dataset.publication.files
    return tuple(
        fmt.upper() for fmt in ("csv", "json", "xlsx") if fmt in files and "omitted" not in files[fmt]
    )


def facet_values(dataset: OpenDataset, facet: str) -> tuple[str, ...]:
    """The values ``dataset`` holds for a facet field."""
    if facet == "organization":
        return (dataset.provider_code.lower(),)
    if facet == "groups":
        group = group_name(dataset.theme)
        return (group,) if group else ()
    if facet == "res_format":
        return res_formats(dataset)
    if facet == "update_cycle":
        return (dataset.update_cycle,)
    if facet == "open_type":
        return (dataset.open_type,)
    if facet == "tags":
        return tuple(dict.fromkeys(dataset.tags))
    if facet == "name":
        return (dataset.name,)
    raise KeyError(facet)


def dataset_texts(dataset: OpenDataset) -> dict[str, list[str]]:
    """The texts of each weighted field; only published (一般) 信息项 labels are searchable."""
    return {
        "title": [dataset.title],
        "tags": list(dataset.tags),
        "department": [dataset.provider_name],
        "items": [f.label for f in dataset.fields if f.published],
        "summary": [dataset.summary],
        "theme": [dataset.theme] if dataset.theme else [],
    }


class _Segmenter:
    """:func:`segment` remembering the blocks it cut.

    jieba cuts each run of Han characters, letters and digits on its own (punctuation separates
    them), so cutting block by block gives the same words; blocks repeat across datasets (names of
    departments, tags, labels, phrases of summaries), and each is cut once.
    """

    _BLOCK = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+")

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, ...]] = {}

    def words(self, text: str) -> set[str]:
        found: set[str] = set()
        for block in self._BLOCK.findall(text):
            known = self._seen.get(block)
            if known is None:
                known = tuple(segment(block))
                if len(self._seen) < 2_000_000:
                    self._seen[block] = known
            found.update(known)
        return found


def dataset_terms(dataset: OpenDataset, segmenter: _Segmenter | None = None) -> dict[str, float]:
    """Weighted words of one dataset (before rarity)."""
    cut = segmenter or _Segmenter()
    weights: dict[str, float] = {}
    for word in {dataset.code.lower(), dataset.name.lower(), *dataset.code.split("/")}:
        weights[word] = FIELD_WEIGHTS["title"]  # 资源代码 and name as whole words, never cut
    for name, texts in dataset_texts(dataset).items():
        for text in texts:
            for word in cut.words(text):
                weights[word] = weights.get(word, 0.0) + FIELD_WEIGHTS[name]
    return weights


def query_words(q: str) -> tuple[str, ...]:
    """The distinct words of a query, stop words dropped unless nothing else remains."""
    words = tuple(dict.fromkeys(segment(q)))
    meaningful = tuple(w for w in words if w not in STOP_WORDS)
    return meaningful or words


@dataclass
class _Facet:
    """One facet's values and their postings; ``docs``/``vals`` pair every dataset with its values."""

    values: list[str]
    titles: list[str]
    titles_en: list[str]
    lookup: dict[str, int]
    postings: list[IntArray]
    docs: IntArray
    vals: IntArray

    def mask(self, wanted: Iterable[str], size: int) -> BoolArray:
        """Datasets holding any of ``wanted`` (``*``: any value at all)."""
        mask = np.zeros(size, dtype=np.bool_)
        for value in wanted:
            if value == "*":
                mask[self.docs] = True
                continue
            index = self.lookup.get(value.strip().lower())
            if index is not None:
                mask[self.postings[index]] = True
        return mask

    def counts(self, mask: BoolArray) -> npt.NDArray[np.int64]:
        return np.bincount(self.vals[mask[self.docs]], minlength=len(self.values))


@dataclass
class TermCache:
    """Weighted words of datasets already indexed, reused by the next build for unchanged datasets."""

    terms: dict[int, tuple[tuple[Any, ...], dict[str, float]]] = field(default_factory=dict)

    def of(self, dataset: OpenDataset, segmenter: _Segmenter) -> dict[str, float]:
        stamp = (dataset.updated_at, dataset.version, dataset.provider_name, dataset.title)
        known = self.terms.get(dataset.id)
        if known is not None and known[0] == stamp:
            return known[1]
        terms = dataset_terms(dataset, segmenter)
        self.terms[dataset.id] = (stamp, terms)
        return terms


class PortalIndex:
    """Every open dataset, searchable by Chinese text, filterable and countable by facets."""

    def __init__(
        self,
        datasets: Sequence[OpenDataset],
        *,
        watermark: tuple[Any, ...] = (),
        cache: TermCache | None = None,
    ) -> None:
        self.datasets = sorted(datasets, key=lambda d: d.code)
        self.watermark = watermark
        self.size = len(self.datasets)
        self.by_name = {d.name: i for i, d in enumerate(self.datasets)}
        self._facets = {name: self._build_facet(name) for name in FILTER_FIELDS}
        self._build_text(cache or TermCache())
        self._build_titles()
        self._build_sort_keys()

    # --- building ---------------------------------------------------------------------------------

    def _build_facet(self, name: str) -> _Facet:
        values: list[str] = []
        titles: list[str] = []
        titles_en: list[str] = []
        lookup: dict[str, int] = {}
        members: list[list[int]] = []
        for doc, dataset in enumerate(self.datasets):
            for value in facet_values(dataset, name):
                index = lookup.get(value.lower())
                if index is None:
                    index = len(values)
                    values.append(value)
                    title, title_en = self._titles_of(name, value, dataset)
                    titles.append(title)
                    titles_en.append(title_en)
                    members.append([])
                    lookup[value.lower()] = index
                    if title != value:
                        lookup.setdefault(title.lower(), index)  # groups:经济建设 and organization:SCJG
                members[index].append(doc)
        postings = [np.asarray(m, dtype=np.int32) for m in members]
        pair_vals = [i for i, m in enumerate(members) for _ in m]
        pair_docs = [d for m in members for d in m]
        return _Facet(
            values,
            titles,
            titles_en,
            lookup,
            postings,
            np.asarray(pair_docs, dtype=np.int32),
            np.asarray(pair_vals, dtype=np.int32),
        )

    @staticmethod
    def _titles_of(name: str, value: str, dataset: OpenDataset) -> tuple[str, str]:
        if name == "organization":
            return dataset.provider_name, dataset.provider_name_en
        if name == "groups" and dataset.theme in THEME_GROUPS:
            return dataset.theme, THEME_GROUPS[dataset.theme][1]
        return value, value

    def _build_text(self, cache: TermCache) -> None:
        segmenter = _Segmenter()
        gathered: dict[str, tuple[list[int], list[float]]] = {}
        for doc, dataset in enumerate(self.datasets):
            for word, weight in cache.of(dataset, segmenter).items():
                entry = gathered.get(word)
                if entry is None:
                    entry = gathered[word] = ([], [])
                entry[0].append(doc)
                entry[1].append(weight)
        size = max(self.size, 1)
        self._postings: dict[str, tuple[IntArray, FloatArray]] = {}
        for word, (docs, weights) in gathered.items():
            rarity = math.log(1.0 + size / len(docs))
            self._postings[word] = (
                np.asarray(docs, dtype=np.int32),
                np.asarray(weights, dtype=np.float64) * rarity,
            )

    def _build_titles(self) -> None:
        """Character bigrams of the titles, to find a query that is a substring of a title."""
        self._titles = [d.title.lower() for d in self.datasets]
        grams: dict[str, list[int]] = {}
        for doc, title in enumerate(self._titles):
            for gram in {title[i : i + 2] for i in range(len(title) - 1)}:
                grams.setdefault(gram, []).append(doc)
        self._bigrams = {gram: np.asarray(docs, dtype=np.int32) for gram, docs in grams.items()}

    def _build_sort_keys(self) -> None:
        def ranks(keys: Sequence[Any]) -> IntArray:
            order = sorted(range(self.size), key=lambda i: keys[i])
            rank = np.empty(self.size, dtype=np.int32)
            rank[order] = np.arange(self.size, dtype=np.int32)
            return rank

        self._sort_keys: dict[str, FloatArray | IntArray] = {
            "metadata_modified": np.asarray(
                [d.modified.timestamp() for d in self.datasets], dtype=np.float64
            ),
            "metadata_created": np.asarray(
                [d.created_at.timestamp() for d in self.datasets], dtype=np.float64
            ),
            "title_string": ranks([(d.title, d.code) for d in self.datasets]),
            "name": np.arange(self.size, dtype=np.int32),  # datasets are held in 资源代码 order
        }

    # --- searching --------------------------------------------------------------------------------

    def get(self, name: str) -> OpenDataset | None:
        """The dataset with public name ``name``, if it is in the index."""
        index = self.by_name.get(name)
        return self.datasets[index] if index is not None else None

    def search(self, query: SearchQuery) -> SearchResult:
        """Datasets matching ``query``: count, the page ``[start, start + rows)``, facet counts."""
        order_spec = parse_sort(query.sort)
        mask = np.ones(self.size, dtype=np.bool_)
        for clause in query.clauses:
            mask &= ~self.clause_mask(clause) if clause.negate else self.clause_mask(clause)
        scores, matched, fallback, words = self._match_text(query.q)
        if matched is not None:
            mask &= matched
        ids = np.flatnonzero(mask).astype(np.int32)
        page = self._order(ids, scores, order_spec)[query.start : query.start + max(query.rows, 0)]
        facets = {
            name: self.facet_items(name, mask, limit=query.facet_limit, mincount=query.facet_mincount)
            for name in query.facet_fields
        }
        return SearchResult(
            count=int(ids.size),
            datasets=[self.datasets[int(i)] for i in page],
            facets=facets,
            fallback=fallback,
            words=words,
        )

    def clause_mask(self, clause: Clause) -> BoolArray:
        """Datasets a clause (without its negation) selects."""
        facet = self._facets.get(clause.field)
        if facet is None:
            raise ValidationFailed({clause.field: [f"cannot filter on {clause.field!r}"]})
        return facet.mask(clause.values, self.size)

    def facet_items(
        self, name: str, mask: BoolArray, *, limit: int = 50, mincount: int = 1
    ) -> list[FacetItem]:
        """A facet's values among the datasets of ``mask``: most frequent first, then by name."""
        facet = self._facets.get(name)
        if facet is None or name == "name":
            raise ValidationFailed({"facet.field": [f"unknown facet field {name!r}"]})
        counts = facet.counts(mask)
        chosen = [i for i in np.flatnonzero(counts >= max(mincount, 0)).tolist()]
        chosen.sort(key=lambda i: (-int(counts[i]), facet.values[i]))
        if limit >= 0:
            chosen = chosen[:limit]
        return [
            FacetItem(facet.values[i], facet.titles[i], facet.titles_en[i], int(counts[i])) for i in chosen
        ]

    def facet_all(self, name: str) -> list[FacetItem]:
        """Every value of a facet over the whole index."""
        return self.facet_items(name, np.ones(self.size, dtype=np.bool_), limit=-1, mincount=1)

    def _match_text(self, q: str) -> tuple[FloatArray | None, BoolArray | None, bool, tuple[str, ...]]:
        text = q.strip()
        if not text:
            return None, None, False, ()
        words = query_words(text)
        scores = np.zeros(self.size, dtype=np.float64)
        hits = np.zeros(self.size, dtype=np.int32)
        for word in words:
            posting = self._postings.get(word)
            if posting is not None:
                scores[posting[0]] += posting[1]
                hits[posting[0]] += 1
        every = hits == len(words) if words else np.zeros(self.size, dtype=np.bool_)
        inside = self._title_substring(text.lower())
        if inside.size:
            every[inside] = True
            scores[inside] += TITLE_SUBSTRING_BOOST
        if every.any():
            return scores, every, False, words
        return scores, hits > 0, True, words

    def _title_substring(self, text: str) -> IntArray:
        """Datasets whose title holds ``text`` (two characters or more)."""
        if len(text) < 2:
            return np.zeros(0, dtype=np.int32)
        candidates: IntArray | None = None
        for i in range(len(text) - 1):
            docs = self._bigrams.get(text[i : i + 2])
            if docs is None:
                return np.zeros(0, dtype=np.int32)
            candidates = docs if candidates is None else np.intersect1d(candidates, docs, assume_unique=True)
            if candidates.size == 0:
                return candidates
        assert candidates is not None
        if len(text) == 2:
            return candidates
        return np.asarray([d for d in candidates.tolist() if text in self._titles[d]], dtype=np.int32)

    def _order(self, ids: IntArray, scores: FloatArray | None, spec: list[tuple[str, bool]]) -> IntArray:
        if ids.size == 0:
            return ids
        keys: list[npt.NDArray[Any]] = []
        for name, descending in spec:
            if name == "score":
                if scores is None:
                    continue
                values: npt.NDArray[Any] = scores[ids]
            else:
                values = self._sort_keys[name][ids]
            keys.append(-values if descending else values)
        keys.append(self._sort_keys["name"][ids])  # a total order: paging sees every dataset once
        return ids[np.lexsort(keys[::-1])]


def parse_sort(sort: str) -> list[tuple[str, bool]]:
    """``"score desc, metadata_modified desc"`` → ``[("score", True), ("metadata_modified", True)]``."""
    spec: list[tuple[str, bool]] = []
    for part in (sort or DEFAULT_SORT).split(","):
        pieces = part.split()
        if not pieces:
            continue
        name = {"title": "title_string"}.get(pieces[0], pieces[0])
        direction = pieces[1].lower() if len(pieces) > 1 else "asc"
        if name not in SORT_FIELDS or direction not in ("asc", "desc") or len(pieces) > 2:
            raise ValidationFailed(
                {"sort": [f"cannot sort by {part.strip()!r}; use {', '.join(SORT_FIELDS)} with asc or desc"]}
            )
        spec.append((name, direction == "desc"))
    return spec


# --- one index per platform ---------------------------------------------------------------------


@dataclass
class _Holder:
    lock: threading.Lock = field(default_factory=threading.Lock)
    index: PortalIndex | None = None
    checked_at: float = 0.0
    cache: TermCache = field(default_factory=TermCache)


_holders: dict[int, _Holder] = {}
_holders_lock = threading.Lock()


def _holder(platform: Platform) -> _Holder:
    key = id(platform)
    with _holders_lock:
        holder = _holders.get(key)
        if holder is None:
            holder = _holders[key] = _Holder()
            weakref.finalize(platform, _holders.pop, key, None)
    return holder


def portal_index(platform: Platform, session: Session | None = None) -> PortalIndex:
    """The platform's index, rebuilt when the catalogue's watermark changed (checked every
    ``settings.open_refresh_s`` at most). ``session`` reads the watermark (a new one when omitted)."""
    holder = _holder(platform)
    refresh = platform.settings.open_refresh_s
    index = holder.index
    if index is not None and time.monotonic() - holder.checked_at < refresh:
        return index
    with holder.lock:
        if holder.index is not None and time.monotonic() - holder.checked_at < refresh:
            return holder.index
        if session is None:
            with platform.store.session() as own:
                holder.index = _current(own, holder)
        else:
            holder.index = _current(session, holder)
        holder.checked_at = time.monotonic()
        return holder.index


def _current(session: Session, holder: _Holder) -> PortalIndex:
    mark = catalogue_watermark(session)
    if holder.index is not None and holder.index.watermark == mark:
        return holder.index
    return PortalIndex(load_open_datasets(session), watermark=mark, cache=holder.cache)


def forget_index(platform: Platform) -> None:
    """Drop the platform's index (the next search rebuilds it), e.g. after publishing in a test."""
    holder = _holder(platform)
    with holder.lock:
        holder.index = None

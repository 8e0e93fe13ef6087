"""The source of a delivery (落地数据源): the granted slice of a resource's change log, as deltas.

:class:`Source` reads the standard zone's change log after a checkpoint through the grant's
:class:`~gongshu.share.slice.GrantSlice`, reduced to each key's latest change (rows deleted at source
or gone out of the granted scope become deletes); :class:`KeyCodec` says how a key lands (clear when
granted unmasked, else a keyed pseudonym per grant). :func:`reconcile` compares the source's current
slice with a target's rows by count and an order-independent SHA-256 (对账).
"""

from __future__ import annotations

# ruff: noqa: S608 - DuckDB identifiers are quoted with sqlbits.ident, values are sqlbits.lit literals
import hashlib
import heapq
import hmac
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from gongshu.collect.sqlbits import ident, idents, lit
from gongshu.share.calllog import record_subjects
from gongshu.share.slice import ALL_VIEW, CURRENT_VIEW, MASKED_GRADES, GrantSlice

KEY_PREFIX = "_key_"
CHUNK = 5_000
EXAMPLES = 5
DELTA_VIEW = "granted_delta"
LATEST_FIRST = "ORDER BY _batch_seq DESC, _row DESC NULLS LAST"  # the change log's order (collect.stage)
Key = tuple[str, ...]
Values = tuple[str | None, ...]


# -- the source: the granted slice of the change log ------------------------------------------


@dataclass(frozen=True)
class KeyCodec:
    """How a row's key lands: as it is when granted in clear, else as a keyed pseudonym per grant."""

    names: tuple[str, ...]
    clear: frozenset[str]  # granted and not masked: delivered as they are
    shown: frozenset[str]  # clear and of grade 一般: may appear as examples in a run's detail
    secret: bytes

    @classmethod
    def of(cls, grant_slice: GrantSlice, platform_secret: str) -> KeyCodec:
        columns = {c.name: c for c in grant_slice.columns}
        clear = frozenset(k for k in grant_slice.key if k in columns and not columns[k].masked)
        shown = frozenset(k for k in clear if columns[k].grade not in MASKED_GRADES)
        material = f"gongshu.share.landing\0{platform_secret}\0{grant_slice.grant}".encode()
        return cls(grant_slice.key, clear, shown, hashlib.sha256(material).digest())

    def pseudonym(self, value: str) -> str:
        return hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()[:32]

    def target(self, values: Sequence[str | None]) -> Key:
        return tuple(
            (v or "") if n in self.clear else self.pseudonym(v or "")
            for n, v in zip(self.names, values, strict=True)
        )

    def example(self, key: Key) -> str:
        """A key as a run's detail may show it: clear only for ungraded, clearly delivered columns."""
        shown = (
            v if n in self.shown or n not in self.clear else self.pseudonym(v)
            for n, v in zip(self.names, key, strict=True)
        )
        return "|".join(shown)


@dataclass
class Delta:
    """The changes after a checkpoint: upserts (streamed once) and deletes, with the subjects seen."""

    rows: Iterator[tuple[Key, Values, Sequence[str | None]]]
    deletes: list[Key]
    subjects: dict[str, None] = field(default_factory=dict)

    def chunks(self, subject_key: bytes) -> Iterator[list[tuple[Key, Values]]]:
        chunk: list[tuple[Key, Values]] = []
        ids: list[str] = []
        for key, values, subject_ids in self.rows:
            chunk.append((key, values))
            ids.extend(i for i in subject_ids if i)
            if len(chunk) >= CHUNK:
                self._see(subject_key, ids)
                yield chunk
                chunk, ids = [], []
        if chunk:
            self._see(subject_key, ids)
            yield chunk

    def _see(self, subject_key: bytes, ids: list[str]) -> None:
        self.subjects.update(dict.fromkeys(record_subjects(subject_key, ids)))


class Source:
    """The granted slice of one resource's change log, pinned to the snapshot registered on ``con``."""

    def __init__(
        self, grant_slice: GrantSlice, con: duckdb.DuckDBPyConnection, keys: KeyCodec, *, has_data: bool
    ):
        self.slice, self.con, self.keys, self.has_data = grant_slice, con, keys, has_data

    def max_seq(self) -> int:
        if not self.has_data:
            return 0
        found = self.con.execute(f"SELECT coalesce(max(_batch_seq), 0) FROM {ident(ALL_VIEW)}").fetchone()
        return int(found[0]) if found else 0

    def delta(self, start: int, *, full: bool) -> Delta:
        """Each key's latest change after ``start``: granted rows to upsert, keys that left to delete."""
        if not self.has_data:
            return Delta(iter(()), [])
        if full:
            return Delta(
                self._rows(self.slice.select_sql(CURRENT_VIEW, with_subjects=True, with_key=True)), []
            )
        latest = f"QUALIFY row_number() OVER (PARTITION BY {idents(self.slice.key)} {LATEST_FIRST}) = 1"
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {ident(DELTA_VIEW)} AS SELECT * FROM {ident(ALL_VIEW)} "
            f"WHERE _batch_seq > {lit(start)} {latest}"
        )
        deletes = self._deletes(start, latest)
        upserts = self.slice.select_sql(DELTA_VIEW, where="_op <> 'D'", with_subjects=True, with_key=True)
        return Delta(self._rows(upserts), deletes)

    def current(self) -> Iterator[tuple[Key, Values]]:
        """The granted slice of the current state, as the target should hold it."""
        if self.has_data:
            for key, values, _ids in self._rows(
                self.slice.select_sql(CURRENT_VIEW, with_key=True), subjects=False
            ):
                yield key, values

    def _deletes(self, start: int, latest: str) -> list[Key]:
        """Keys deleted at source or gone out of scope after ``start`` that were delivered before it."""
        granted = f"coalesce(({self.slice.row_filter()}), false)"
        keys = self.slice.key
        before = (
            f"SELECT {idents(keys)} FROM {ident(ALL_VIEW)} WHERE _batch_seq <= {lit(start)} "
            f"{latest} AND _op <> 'D' AND {granted}"
        )
        same = " AND ".join(f"b.{ident(k)} IS NOT DISTINCT FROM d.{ident(k)}" for k in keys)
        rows = self.con.execute(
            f"SELECT {', '.join(f'CAST(d.{ident(k)} AS VARCHAR)' for k in keys)} FROM {ident(DELTA_VIEW)} d "
            f"WHERE NOT coalesce(d._op <> 'D' AND {granted}, false) "
            f"AND EXISTS (SELECT 1 FROM ({before}) b WHERE {same})"
        ).fetchall()
        return [self.keys.target(row) for row in rows]

    def _rows(
        self, select: str, *, subjects: bool = True
    ) -> Iterator[tuple[Key, Values, Sequence[str | None]]]:
        """``select`` as text (as the target stores it), in record batches: (target key, values, IDs)."""
        columns = [f"CAST({ident(c)} AS VARCHAR) AS {ident(c)}" for c in self.slice.fields]
        columns += [ident(KEY_PREFIX + k) for k in self.slice.key] + (["_subject_ids"] if subjects else [])
        reader = self.con.execute(f"SELECT {', '.join(columns)} FROM ({select}) AS granted").to_arrow_reader(
            CHUNK
        )
        width, keys = len(self.slice.fields), len(self.slice.key)
        for batch in reader:
            for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                ids = row[width + keys] if subjects else ()
                yield self.keys.target(row[width : width + keys]), tuple(row[:width]), ids or ()


# -- reconciliation (对账) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reconciliation:
    source_rows: int
    target_rows: int
    source_hash: str
    target_hash: str
    reconciled: bool
    difference: dict[str, Any]


def row_digest(key: Sequence[str | None], values: Sequence[str | None]) -> bytes:
    """SHA-256 of one delivered row (its ``_key_*`` values and granted 信息项 as text), both sides alike."""
    text = json.dumps([list(key), list(values)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).digest()


def set_digest(digests: Iterable[bytes]) -> str:
    """The order-independent hash of a set of rows: SHA-256 over their sorted row digests."""
    return hashlib.sha256(b"".join(sorted(digests))).hexdigest()


def reconcile(
    source: Iterable[tuple[Key, Values]], target: Iterable[tuple[Key, Values]], keys: KeyCodec
) -> Reconciliation:
    ours = {key: row_digest(key, values) for key, values in source}
    theirs: dict[Key, bytes] = {}
    target_rows = 0
    for key, values in target:
        theirs[key] = row_digest(key, values)
        target_rows += 1
    source_hash, target_hash = set_digest(ours.values()), set_digest(theirs.values())
    reconciled = source_hash == target_hash and len(ours) == target_rows
    difference: dict[str, Any] = {}
    if not reconciled:
        missing = [k for k in ours if k not in theirs]
        extra = [k for k in theirs if k not in ours]
        changed = [k for k, d in ours.items() if k in theirs and theirs[k] != d]
        difference = {"missing": len(missing), "extra": len(extra), "changed": len(changed)}
        difference["examples"] = {
            name: [keys.example(k) for k in heapq.nsmallest(EXAMPLES, found)]
            for name, found in (("missing", missing), ("extra", extra), ("changed", changed))
        }
    return Reconciliation(len(ours), target_rows, source_hash, target_hash, reconciled, difference)

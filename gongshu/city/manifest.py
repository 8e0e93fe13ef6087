"""The ground-truth manifest (真值清单) written beside the sources.

* ``manifest/defects.parquet`` — one row per planted variation or defect: source, table,
  record_key, row (0-based data row in the source), field, category (variation | defect), kind,
  planted value, clean value.
* ``manifest/identities.parquet`` — one row per (record, role): source, table, record_key, row,
  role, entity_type (person | enterprise | address), entity_id (true id: P…, E…, address code).
* ``manifest/persons.parquet``, ``enterprises.parquet``, ``addresses.parquet`` — the true entities.
* ``manifest.json`` — seed, scale, rates, counts per source and kind, file list with row counts
  and sha256.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gongshu.city.frames import Frame
from gongshu.city.population import World
from gongshu.city.text import iso_dates, null_where, take

DEFECT_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("table", pa.string()),
        ("record_key", pa.string()),
        ("row", pa.int64()),
        ("field", pa.string()),
        ("category", pa.string()),
        ("kind", pa.string()),
        ("planted", pa.string()),
        ("clean", pa.string()),
    ]
)
IDENTITY_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("table", pa.string()),
        ("record_key", pa.string()),
        ("row", pa.int64()),
        ("role", pa.string()),
        ("entity_type", pa.string()),
        ("entity_id", pa.string()),
    ]
)


def _const(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


class ManifestWriter:
    """Streams manifest parts to Parquet and keeps the counts for ``manifest.json``."""

    def __init__(self, out_dir: Path, subdir: str = "manifest") -> None:
        self.dir = out_dir / subdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)

    def _writer(self, name: str, schema: pa.Schema) -> pq.ParquetWriter:
        if name not in self.writers:
            self.writers[name] = pq.ParquetWriter(self.dir / f"{name}.parquet", schema, compression="zstd")
        return self.writers[name]

    def add_frame(self, frame: Frame, offset: int, *, identities: bool = True) -> None:
        """Record the frame's planted cells and identities at its row offset in the source."""
        spec = frame.spec
        for rec in frame.planted:
            n = len(rec["row"])
            batch = pa.table(
                {
                    "source": _const(spec.source_id, n),
                    "table": _const(spec.table, n),
                    **{k: rec[k] for k in ("record_key",)},
                    "row": pa.array(rec["row"].to_numpy() + offset),
                    **{k: rec[k] for k in ("field", "category", "kind", "planted", "clean")},
                },
                schema=DEFECT_SCHEMA,
            )
            self._writer("defects", DEFECT_SCHEMA).write_table(batch)
            kind = rec["kind"][0].as_py() if n else ""
            category = rec["category"][0].as_py() if n else ""
            self.counts[spec.source_id][f"{category}:{kind}"] += n
        if identities:
            self._identities(frame, offset)

    def _identities(self, frame: Frame, offset: int) -> None:
        spec = frame.spec
        keys = frame.columns[spec.key]
        rows = pa.array(np.arange(frame.rows, dtype=np.int64) + offset)
        for identity in frame.identities:
            mask = identity.entity_id.is_valid()
            batch = pa.table(
                {
                    "source": _const(spec.source_id, frame.rows),
                    "table": _const(spec.table, frame.rows),
                    "record_key": keys.cast(pa.string()),
                    "row": rows,
                    "role": _const(identity.role, frame.rows),
                    "entity_type": _const(identity.entity_type, frame.rows),
                    "entity_id": identity.entity_id,
                },
                schema=IDENTITY_SCHEMA,
            ).filter(mask)
            self._writer("identities", IDENTITY_SCHEMA).write_table(batch)

    def add_world(self, world: World) -> None:
        """Write the chunk's true persons, enterprises and addresses."""
        p, lp, a, ref = world.persons, world.legal, world.addresses, world.ref
        persons = pa.table(
            {
                "person_id": p.person_id,
                "id_number": p.id_number,
                "name": p.name,
                "sex_code": pa.array(p.sex.astype(str)),
                "birth_date": iso_dates(p.birth),
                "migrant": pa.array(p.migrant),
                "address_id": take(a.address_id, p.address),
                "old_address_id": take(a.address_id, p.old_address),
                "death_date": null_where(iso_dates(np.maximum(p.death, 0)), p.death < 0),
            }
        )
        enterprises = pa.table(
            {
                "entity_id": lp.entity_id,
                "uscc": lp.uscc,
                "name": lp.name,
                "authority": lp.authority,
                "legal_rep_person_id": take(p.person_id, lp.legal_rep),
                "address_id": take(a.address_id, lp.address),
            }
        )
        addresses = pa.table(
            {
                "address_id": a.address_id,
                "district_code": pa.array(ref.district_code[a.district].astype(str)),
                "full_address": a.full,
                "lon": pa.array(a.lon),
                "lat": pa.array(a.lat),
            }
        )
        for name, table in (("persons", persons), ("enterprises", enterprises), ("addresses", addresses)):
            self._writer(name, table.schema).write_table(table)

    def close(self) -> list[Path]:
        for writer in self.writers.values():
            writer.close()
        return sorted(self.dir.glob("*.parquet"))

    def source_counts(self, source_id: str) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {"variation": {}, "defect": {}}
        for key, n in sorted(self.counts[source_id].items()):
            category, kind = key.split(":", 1)
            out[category][kind] = out[category].get(kind, 0) + n
        return out


def file_entry(path: Path, root: Path, rows: int | None) -> dict[str, Any]:
    """Path (relative), size, sha256 and row count of one written file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {
        "path": path.relative_to(root).as_posix(),
        "bytes": path.stat().st_size,
        "rows": rows,
        "sha256": digest.hexdigest(),
    }


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

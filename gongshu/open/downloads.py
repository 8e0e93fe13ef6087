"""Downloads and dumps (下载): the published files, or a caller's projection of them, in bounded memory.

A caller who may read every published 信息项 gets the published file itself, with its SHA-256
digest (the publication's ``files``) as ``ETag`` and ``Digest``/``Repr-Digest``. A caller who may
read only some fields (a credential approved for a subset) gets that projection streamed from the
datastore's Parquet file in batches of :data:`BATCH_ROWS` rows — CSV and JSON as a byte stream,
XLSX written to a temporary file in constant memory first (a workbook is a zip archive).
"""

from __future__ import annotations

import base64
import io
import json
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gongshu.errors import NotFound, ValidationFailed
from gongshu.open.caller import Caller
from gongshu.open.datasets import DOWNLOAD_FORMATS, OpenDataset
from gongshu.open.datastore import datastore_path, json_value, visible_fields
from gongshu.open.publish import XLSX_MAX_ROWS, write_xlsx
from gongshu.platform import Platform

#: Rows read from the Parquet file per step of a streamed projection.
BATCH_ROWS = 20_000
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Download:
    """What to send: the published ``file`` (with its digest), or a ``projection`` of ``fields``."""

    dataset: OpenDataset
    fmt: str
    fields: tuple[str, ...]
    rows: int
    filename: str  # the Content-Disposition header's value
    file: Path | None = None
    sha256: str | None = None
    parquet: Path | None = None  # the datastore, for a projection

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.fmt]

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Content-Disposition": self.filename, "X-Content-Type-Options": "nosniff"}
        if self.sha256 is not None:
            b64 = base64.b64encode(bytes.fromhex(self.sha256)).decode("ascii")
            headers.update(
                {"ETag": f'"{self.sha256}"', "Digest": f"sha-256={b64}", "Repr-Digest": f"sha-256=:{b64}:"}
            )
        return headers


def parse_format(fmt: str) -> str:
    if fmt not in DOWNLOAD_FORMATS:
        raise NotFound(f"no download format {fmt[:20]!r}; the formats are {', '.join(DOWNLOAD_FORMATS)}")
    return fmt


def parse_resource(resource_id: str) -> tuple[str, str]:
    """``103001001-000001-csv`` → (``103001001-000001``, ``csv``); :class:`NotFound` otherwise."""
    name, _, fmt = resource_id.rpartition("-")
    if not name or fmt not in DOWNLOAD_FORMATS:
        raise NotFound(f"no resource {resource_id[:100]!r}", value=resource_id[:100])
    return name, fmt


def content_disposition(dataset: OpenDataset, fmt: str) -> str:
    """``attachment`` with an ASCII name and the Chinese title as RFC 5987 ``filename*``."""
    title = "".join(c for c in dataset.title if c not in '/\\"\r\n\t') or dataset.name
    return (
        f"attachment; filename=\"{dataset.name}.{fmt}\"; filename*=UTF-8''{quote(f'{title}.{fmt}', safe='')}"
    )


def prepare_download(platform: Platform, dataset: OpenDataset, caller: Caller, fmt: str) -> Download:
    """Decide what ``caller`` gets of ``dataset`` in ``fmt``.

    Raises:
        PermissionDenied: the caller may read none of the fields (with a hint to apply when conditional).
        NotFound: unknown format, not published yet, or a format omitted for this publication.
    """
    fmt = parse_format(fmt)
    fields = visible_fields(dataset, caller)
    parquet = datastore_path(platform, dataset)
    publication = dataset.publication
    assert publication is not None  # datastore_path checked
    disposition = content_disposition(dataset, fmt)
    document = publication.files.get(fmt) or {}
    if tuple(fields) == tuple(publication.fields):
        if "omitted" in document or "path" not in document:
            raise NotFound(
                f"no {fmt.upper()} file for {dataset.name!r}: {document.get('omitted', 'not written')}",
                hint="download the CSV instead",
            )
        path = platform.settings.data_dir / str(document["path"])
        if not path.exists():
            raise NotFound(f"the {fmt.upper()} file of {dataset.name!r} is missing")
        return Download(
            dataset, fmt, fields, publication.rows, disposition, file=path, sha256=document["sha256"]
        )
    if fmt == "xlsx" and publication.rows > XLSX_MAX_ROWS:
        raise NotFound(f"{publication.rows:,} rows exceed Excel's limit", hint="download the CSV instead")
    return Download(dataset, fmt, fields, publication.rows, disposition, parquet=parquet)


def _batches(parquet: Path, fields: Sequence[str]) -> Iterator[pa.RecordBatch]:
    yield from pq.ParquetFile(parquet).iter_batches(batch_size=BATCH_ROWS, columns=list(fields))


def stream_csv(parquet: Path, fields: Sequence[str]) -> Iterator[bytes]:
    """The projection as UTF-8 CSV (header of item names, no BOM), one batch at a time."""
    yield (",".join(_csv_name(f) for f in fields) + "\n").encode("utf-8")
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    for batch in _batches(parquet, fields):
        sink = io.BytesIO()
        pacsv.write_csv(batch, sink, write_options=options)
        yield sink.getvalue()


def _csv_name(name: str) -> str:
    return f'"{name.replace(chr(34), chr(34) * 2)}"' if any(c in name for c in ',"\r\n') else name


def stream_json(parquet: Path, fields: Sequence[str]) -> Iterator[bytes]:
    """The projection as one JSON array of objects, one batch at a time."""
    yield b"["
    first = True
    for batch in _batches(parquet, fields):
        lines = [
            json.dumps({k: json_value(v) for k, v in row.items()}, ensure_ascii=False)
            for row in batch.to_pylist()
        ]
        if lines:
            yield (("\n" if first else ",\n") + ",\n".join(lines)).encode("utf-8")
            first = False
    yield b"\n]\n"


def projected_xlsx(platform: Platform, parquet: Path, fields: Sequence[str]) -> Path:
    """The projection as a workbook in a temporary file (the caller deletes it after sending)."""
    folder = platform.settings.data_dir / "work" / "open-downloads"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".xlsx", delete=False) as handle:
        target = Path(handle.name)
    try:
        write_xlsx(parquet, fields, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def check_dump_format(fmt: str | None, default: str) -> str:
    """The ``?format=`` of a dump (defaults to the resource's own format)."""
    if fmt is None or not fmt.strip():
        return default
    chosen = fmt.strip().lower()
    if chosen not in DOWNLOAD_FORMATS:
        raise ValidationFailed({"format": [f"format must be one of {', '.join(DOWNLOAD_FORMATS)}"]})
    return chosen

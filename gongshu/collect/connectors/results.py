"""What an extraction returns (采集结果): the raw files, the counts, the rejects, the new cursor."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: longest ``Reject.raw`` kept, in characters
RAW_LIMIT = 2_000


@dataclass
class ExtractState:
    """The committed state of the last successful batch of a mount.

    ``cursor_value`` is the incremental SQL cursor (text, as the source renders it); ``None`` means
    "from the beginning".
    """

    cursor_value: str | None = None


@dataclass
class Reject:
    """One record that could not be read (不合格记录); it goes to the protected quarantine zone.

    ``line`` is the 1-based line of a text file (as the CSV reader counts records: the header is
    line 1), the row number of an XLSX sheet, or the record's position in an HTTP page.
    """

    source: str
    line: int | None
    reason_zh: str
    reason_en: str
    raw: str

    @classmethod
    def make(cls, source: str, line: int | None, reason_zh: str, reason_en: str, raw: str | bytes) -> Reject:
        """A reject with ``raw`` decoded best-effort and cut to :data:`RAW_LIMIT` characters."""
        text = raw if isinstance(raw, str) else decode_best_effort(raw[: RAW_LIMIT * 4])
        return cls(source, line, reason_zh, reason_en, text[:RAW_LIMIT])


@dataclass
class Extracted:
    """The result of :func:`gongshu.collect.connectors.extract`.

    Invariant: rows in ``files`` + ``len(rejects)`` == ``rows_read``. ``files`` are in source order
    (file *i*'s rows come before file *i + 1*'s) and all have the columns ``columns`` + ``_batch_id``
    + ``_source``, every one VARCHAR.
    """

    files: list[Path]
    columns: list[str]
    source_types: dict[str, str]
    rows_read: int
    rows_written: int
    rejects: list[Reject]
    fingerprint: str
    cursor_max: str | None
    sources: list[str]
    notes: list[str] = field(default_factory=list)


def decode_best_effort(data: bytes) -> str:
    """UTF-8 if valid, else GB18030 if valid, else UTF-8 with replacement characters."""
    for encoding in ("utf-8", "gb18030"):
        for cut in range(4):  # a cut through the last character is not a decoding failure
            try:
                return data[: len(data) - cut].decode(encoding)
            except UnicodeDecodeError:
                continue
    return data.decode("utf-8", errors="replace")

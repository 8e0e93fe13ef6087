"""Text encodings of delivered files (文件编码): detection and line-wise transcoding to UTF-8.

Detection looks at a sample (the first and the last 4 MB): a UTF-8 byte-order mark means
``utf-8-sig``; else, if the sample's non-ASCII lines are mostly valid UTF-8, ``utf-8`` (a few
invalid lines are a mixed file, repaired line by line); else, if the sample is valid GB18030,
``gb18030``; else the file is refused with a clear error.

:func:`transcode` rewrites a file as UTF-8 line by line, decoding each line with the primary
encoding and, failing that, the other one (UTF-8 ↔ GB18030), so a UTF-8 export with a few
GB18030 lines loses nothing. A line that neither decodes is replaced by an empty line (the CSV
reader skips empty lines, so the line numbers of everything after it stay right) and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gongshu.collect.connectors.errors import SourceFailed

SAMPLE = 4 << 20
BLOCK = 8 << 20
BOM = b"\xef\xbb\xbf"
FALLBACK = {"utf-8": "gb18030", "utf-8-sig": "gb18030", "gb18030": "utf-8"}


@dataclass
class Transcoded:
    """What :func:`transcode` met: lines decoded with the fallback, lines it could not decode."""

    fallback_lines: int = 0
    bad_lines: list[tuple[int, bytes]] = field(default_factory=list)


def sample(path: Path) -> bytes:
    """The first and (for large files) last :data:`SAMPLE` bytes, each cut to whole lines."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(SAMPLE)
        if size <= SAMPLE:
            return head
        head = head[: head.rfind(b"\n") + 1] or head
        handle.seek(max(size - SAMPLE, SAMPLE))
        tail = handle.read(SAMPLE)
    return head + tail[tail.find(b"\n") + 1 :]


def detect(path: Path, name: str) -> str:
    """``utf-8-sig``, ``utf-8`` or ``gb18030`` for the file at ``path`` (``name``: for messages)."""
    data = sample(path)
    if data.startswith(BOM):
        return "utf-8-sig"
    valid = invalid = 0
    for line in data.splitlines():
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            valid += 1
        except UnicodeDecodeError:
            invalid += 1
    if invalid == 0 or valid >= invalid:
        return "utf-8"
    if _mostly_gb18030(data):
        return "gb18030"
    raise SourceFailed(
        f"无法识别文件 {name} 的编码（既非 UTF-8 也非 GB18030）/ the encoding of {name} is neither UTF-8 "
        "nor GB18030",
        hint="ask the department to export UTF-8 or GB18030 text, or set `encoding` explicitly",
    )


def _mostly_gb18030(data: bytes) -> bool:
    good = bad = 0
    for line in data.splitlines():
        if line.isascii():
            continue
        try:
            line.decode("gb18030")
            good += 1
        except UnicodeDecodeError:
            bad += 1
    return good > bad


def transcode(source: Path, target: Path, encoding: str) -> Transcoded:
    """Write ``source`` (in ``encoding``) to ``target`` as UTF-8 without BOM, line by line if needed."""
    result = Transcoded()
    fallback = FALLBACK[encoding]
    primary = "utf-8" if encoding == "utf-8-sig" else encoding
    line_no = 0
    with source.open("rb") as reader, target.open("wb") as writer:
        rest = b""
        first = True
        while True:
            block = reader.read(BLOCK)
            if first:
                if block.startswith(BOM):
                    block = block[len(BOM) :]
                first = False
            data = rest + block
            cut = len(data) if not block else data.rfind(b"\n") + 1
            rest = data[cut:]
            chunk = data[:cut]
            if chunk:
                writer.write(_decode_chunk(chunk, primary, fallback, line_no, result))
                line_no += chunk.count(b"\n")
            if not block:
                break
    return result


def _decode_chunk(chunk: bytes, primary: str, fallback: str, line_no: int, result: Transcoded) -> bytes:
    try:
        return chunk.decode(primary).encode("utf-8")
    except UnicodeDecodeError:
        pass
    out = []
    for offset, line in enumerate(_lines(chunk), start=line_no + 1):
        try:
            out.append(line.decode(primary).encode("utf-8"))
            continue
        except UnicodeDecodeError:
            pass
        try:
            out.append(line.decode(fallback).encode("utf-8"))
            result.fallback_lines += 1
        except UnicodeDecodeError:
            result.bad_lines.append((offset, line.rstrip(b"\r\n")))
            out.append(b"\n")
    return b"".join(out)


def _lines(chunk: bytes) -> list[bytes]:
    """``chunk`` split after each ``\\n`` (a lone ``\\r`` inside a field is not a line break)."""
    pieces = chunk.split(b"\n")
    lines = [piece + b"\n" for piece in pieces[:-1]]
    if pieces[-1]:
        lines.append(pieces[-1])
    return lines

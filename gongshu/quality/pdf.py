"""Printing HTML to PDF with headless Chromium, as a subprocess (no Playwright, no JavaScript needed).

The document must be self-contained (inline CSS, inline SVG); page size, margins, running header
and page numbers come from its ``@page`` CSS. Chromium is found from the caller's argument, then
``$GONGSHU_CHROMIUM``, then ``/usr/bin/chromium``, ``chromium``, ``chromium-browser`` and
``google-chrome`` on the ``PATH``; ``make browser-deps`` installs Debian's chromium and a Chinese font.

Example::

    pdf = report_pdf("<!doctype html><meta charset=utf-8><h1>质量月报</h1>")
"""

from __future__ import annotations

import html
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from gongshu.errors import GongshuError


class PdfUnavailable(GongshuError):
    """The PDF cannot be printed here: no Chromium (the web page and the XLSX still work)."""

    code = "pdf_unavailable"
    http_status = 503
    exit_code = 8


class PdfFailed(PdfUnavailable):
    """Chromium ran but did not print the PDF (crashed, or timed out); retrying may help."""

    code = "pdf_failed"
    transient = True


CHROMIUM_ENV = "GONGSHU_CHROMIUM"
CHROMIUM_NAMES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
CHROMIUM_HINT = (
    "install Debian's chromium and a Chinese font with `make browser-deps`, or set GONGSHU_CHROMIUM"
)


def find_chromium(chromium: str | None = None) -> str:
    """The Chromium binary: ``chromium`` if given, else ``$GONGSHU_CHROMIUM``, else the usual names.

    Raises:
        PdfUnavailable: none of them is an executable.
    """
    candidates = [c for c in (chromium, os.environ.get(CHROMIUM_ENV)) if c] or list(CHROMIUM_NAMES)
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    raise PdfUnavailable(
        f"no Chromium to print the PDF with (looked for {', '.join(candidates)})", hint=CHROMIUM_HINT
    )


def _with_base(document: str, base_url: str) -> str:
    tag = f'<base href="{html.escape(base_url, quote=True)}">'
    head = document.lower().find("<head>")
    return document[: head + 6] + tag + document[head + 6 :] if head >= 0 else tag + document


def report_pdf(
    document: str, *, base_url: str | None = None, chromium: str | None = None, timeout: float = 60
) -> bytes:
    """Print a self-contained HTML document to PDF with headless Chromium (no JavaScript is needed).

    The page size and margins come from the document's ``@page`` CSS. Chromium runs as a
    subprocess with its own throwaway profile; every temporary file is removed afterwards.

    Raises:
        PdfUnavailable: no Chromium was found.
        PdfFailed: Chromium failed, printed nothing, or took longer than ``timeout`` seconds.
    """
    binary = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="gongshu-pdf-") as tmp:
        source, target = Path(tmp, "report.html"), Path(tmp, "report.pdf")
        source.write_text(_with_base(document, base_url) if base_url else document, encoding="utf-8")
        command = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-extensions", "--disable-background-networking",
            f"--user-data-dir={Path(tmp, 'profile')}", "--no-pdf-header-footer",
            f"--print-to-pdf={target}", source.as_uri(),
        ]  # fmt: skip
        errors = _run(command, timeout)
        data = target.read_bytes() if target.exists() else b""
    if not data.startswith(b"%PDF"):
        raise PdfFailed(f"Chromium printed no PDF: {errors[-400:] or 'no output'}", hint=CHROMIUM_HINT)
    return data


def _run(command: list[str], timeout: float) -> str:
    """Run Chromium in its own process group, so a time-out ends its helper processes too."""
    try:
        process = subprocess.Popen(  # noqa: S603  (the binary is the operator's Chromium; no shell)
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
    except OSError as error:
        raise PdfUnavailable(f"cannot start {command[0]}: {error}", hint=CHROMIUM_HINT) from None
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise PdfFailed(
            f"Chromium did not print the PDF within {timeout:g} s", hint="try again, or raise the time-out"
        ) from None
    text = stderr.decode("utf-8", "replace")
    if process.returncode != 0:
        raise PdfFailed(f"Chromium exited with {process.returncode}: {text[-400:]}", hint=CHROMIUM_HINT)
    return text

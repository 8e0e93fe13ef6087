"""The real service and Debian's chromium for browser tests (shared by tests/web and tests/share).

:func:`served` runs ``create_app(platform)`` under uvicorn on a free 127.0.0.1 port in a thread;
:func:`chromium` launches Playwright with Debian's ``/usr/bin/chromium`` (never a downloaded build),
skipping when it is missing unless ``GONGSHU_REQUIRE_SERVICES=1`` (then failing). Screenshots go to
:data:`ARTIFACTS` at the repository root.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gongshu.platform import Platform
from gongshu.service import create_app
from gongshu.share.bench import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def served(platform: Platform) -> Iterator[str]:
    """The real service (uvicorn) on a free 127.0.0.1 port, in a background thread; its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched Playwright browser on Debian's chromium (skips or fails when it is missing)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium fonts-wqy-zenhei)"
        if os.environ.get("GONGSHU_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}; GONGSHU_REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()

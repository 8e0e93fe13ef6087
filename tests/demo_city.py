"""A small demo city, built once per test session: organisations, catalogue, every source mounted,
collected and audited. The ``demo`` fixture lives in tests/conftest.py so every package shares it."""

from __future__ import annotations

from gongshu.demo import DemoSummary
from gongshu.platform import Platform

PERSONS = 3000


class Demo:
    def __init__(self, platform: Platform, summary: DemoSummary) -> None:
        self.platform = platform
        self.summary = summary
        self.data_dir = platform.settings.data_dir

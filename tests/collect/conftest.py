"""A small demo city, built once per session: organisations, catalogue, every source mounted and collected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gongshu.config import Settings
from gongshu.demo import DemoSummary, build_demo
from gongshu.platform import Platform, open_platform

PERSONS = 3000


class Demo:
    def __init__(self, platform: Platform, summary: DemoSummary) -> None:
        self.platform = platform
        self.summary = summary
        self.data_dir = platform.settings.data_dir


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    data_dir: Path = tmp_path_factory.mktemp("demo")
    platform = open_platform(Settings(data_dir=data_dir, demo=True), migrate=True)
    summary = build_demo(platform, persons=PERSONS)
    yield Demo(platform, summary)
    platform.close()

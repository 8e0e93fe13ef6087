"""An API client over a platform on a temporary SQLite store, with tokens for each test user."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gongshu.config import Settings
from gongshu.orgs.schemas import TokenCreate
from gongshu.orgs.tokens import issue_token
from gongshu.platform import Platform, open_platform
from gongshu.service import create_app
from tests.helpers import seed_basics


@dataclass
class Api:
    client: TestClient
    platform: Platform
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    platform = open_platform(Settings(data_dir=tmp_path, secret_key="s" * 40), migrate=True)
    with platform.store.session() as session:
        people = seed_basics(session)
        secrets = {
            who: issue_token(session, principal, TokenCreate(name="test")).secret
            for who, principal in people.items()
        }
    with TestClient(create_app(platform)) as client:
        yield Api(client, platform, secrets)
    platform.close()

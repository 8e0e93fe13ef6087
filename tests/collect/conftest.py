"""The collect tests use the session's demo city (tests/conftest.py)."""

from __future__ import annotations

from tests.demo_city import PERSONS, Demo

__all__ = ["PERSONS", "Demo"]

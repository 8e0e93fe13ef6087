"""Errors of the synthetic city (合成城市错误)."""

from __future__ import annotations

from gongshu.errors import SourceUnavailable


class TargetUnavailable(SourceUnavailable):
    """A database target given to the generator (``pg_url`` / ``mysql_url``) did not answer."""

    code = "city_target_unavailable"

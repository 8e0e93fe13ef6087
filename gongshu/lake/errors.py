"""Errors of the lake (数据湖错误); each says whether retrying can help."""

from __future__ import annotations

from gongshu.errors import Conflict, SourceUnavailable


class SchemaConflict(Conflict):
    """Data does not fit a table's schema and Iceberg cannot evolve the schema to fit it.

    Iceberg adds columns and widens int → long, float → double and decimal precision; any other
    type change (string → long, long → int, …) needs a new column or a new table. Not transient.
    """

    code = "lake_schema_conflict"


class CommitContended(SourceUnavailable):
    """Other writers kept committing to the same table first, more times than the commit retries.

    Transient: the batch was not committed and can be retried as a whole (commits are idempotent).
    """

    code = "lake_commit_contended"

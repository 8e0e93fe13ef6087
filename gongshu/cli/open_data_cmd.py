"""`gongshu open publish`: write the open datasets' publications (datastore and downloads) now.

Publication normally follows every committed batch; this command publishes what is not yet
published (all open, mounted entries, or one with ``--entry``) and is idempotent per batch.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gongshu.cli.output import DataDirOption, JsonOption, platform_for, print_json, print_table
from gongshu.open.models import OpenPublication
from gongshu.open.publish import publish_all, publish_entry
from gongshu.orgs.roles import cli_principal


def _row(code: str, publication: OpenPublication | None) -> dict[str, object]:
    if publication is None:
        return {"entry": code, "version": None, "rows": None, "batch": None, "note": "no data to publish"}
    return {
        "entry": code,
        "version": publication.version,
        "rows": publication.rows,
        "batch": publication.batch_id,
        "changes": publication.changes,
        "files": publication.files,
    }


def open_publish(
    entry: Annotated[
        str | None, typer.Option("--entry", help="资源代码 of one open entry, e.g. 103001001/000001")
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """发布 publish the open datasets' data (Parquet datastore, CSV, JSON, XLSX) for new batches."""
    platform = platform_for(data_dir)
    try:
        if entry is not None:
            done = [(entry, publish_entry(platform, entry, actor=cli_principal()))]
        else:
            done = publish_all(platform, actor=cli_principal())
    finally:
        platform.close()
    rows = [_row(code, publication) for code, publication in done]
    if as_json:
        print_json(rows)
        return
    print_table(
        "开放发布 publications",
        ["entry", "version", "rows", "batch"],
        [[r["entry"], r["version"], r["rows"], r["batch"]] for r in rows],
    )

"""`gongshu open …`: the open-data portal (开放). Each area's commands live in their own module and are
added to :data:`open_app` in ``gongshu/cli/main.py``."""

from __future__ import annotations

import typer

open_app = typer.Typer(
    help="开放 the open-data portal: publications, applications, developer keys, community",
    no_args_is_help=True,
)

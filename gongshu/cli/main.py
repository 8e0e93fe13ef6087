"""The `gongshu` command. Thin: each command parses flags, calls the library, prints the result.

User errors (:class:`gongshu.errors.GongshuError`) print a message, the problems and a hint, and
exit with the error's code — never a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gongshu import __version__
from gongshu.cli.audit_cmd import audit_app
from gongshu.cli.catalog_cmd import catalog_app
from gongshu.cli.city_cmd import bench_city, city_app
from gongshu.cli.collect_cmd import batch_app, bench_ingest, collect_app, mount_app, quarantine_app
from gongshu.cli.lake_cmd import lake_app
from gongshu.cli.open_apps_cmd import application_app, key_app
from gongshu.cli.open_cmd import open_app
from gongshu.cli.open_community_cmd import freshness_cmd, request_app, showcase_app
from gongshu.cli.open_data_cmd import open_publish
from gongshu.cli.open_dcat_cmd import open_dcat
from gongshu.cli.orgs_cmd import element_app, org_app, token_app, user_app
from gongshu.cli.output import DataDirOption, console, platform_for, print_error, print_table, settings_for
from gongshu.cli.quality_cmd import quality_app, report_app
from gongshu.cli.share_calls_cmd import share_query, share_sql, share_verify
from gongshu.cli.share_cmd import share_app
from gongshu.cli.share_confirm_cmd import confirm_app
from gongshu.cli.share_delivery_cmd import delivery_app
from gongshu.cli.ticket_cmd import ticket_app
from gongshu.errors import GongshuError
from gongshu.open.bench import bench_portal
from gongshu.platform import Platform, open_platform
from gongshu.quality.bench import bench_audit
from gongshu.share.bench import bench_verify

app = typer.Typer(
    name="gongshu",
    help="gongshu 公数 — a city's public data platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="元数据库 the metadata store", no_args_is_help=True)
bench_app = typer.Typer(
    help="性能基准 benchmarks (figures and the ratio to a baseline run alongside)", no_args_is_help=True
)

app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(element_app, name="element")
app.add_typer(audit_app, name="audit")
app.add_typer(city_app, name="city")
app.add_typer(mount_app, name="mount")
app.add_typer(collect_app, name="collect")
app.add_typer(batch_app, name="batch")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(lake_app, name="lake")
app.add_typer(quality_app, name="quality")
app.add_typer(report_app, name="report")
app.add_typer(ticket_app, name="ticket")
app.add_typer(share_app, name="share")
app.add_typer(open_app, name="open")
open_app.add_typer(application_app, name="application")
open_app.add_typer(key_app, name="key")
open_app.command("publish")(open_publish)
open_app.command("dcat")(open_dcat)
open_app.add_typer(showcase_app, name="showcase")
open_app.add_typer(request_app, name="request")
open_app.command("freshness")(freshness_cmd)
share_app.command("verify")(share_verify)
share_app.command("query")(share_query)
share_app.command("sql")(share_sql)
share_app.add_typer(confirm_app, name="letters")
share_app.add_typer(delivery_app, name="delivery")
app.add_typer(bench_app, name="bench")
bench_app.command("city")(bench_city)
bench_app.command("ingest")(bench_ingest)
bench_app.command("audit")(bench_audit)
bench_app.command("verify")(bench_verify)
bench_app.command("portal")(bench_portal)

HostOption = Annotated[str, typer.Option(help="address to listen on")]
PortOption = Annotated[int, typer.Option(help="port to listen on")]


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOption = None) -> None:
    """Create or migrate the metadata store's schema and seed reference data (idempotent)."""
    platform = platform_for(data_dir, migrate=True)
    console.print(f"[green]metadata store up to date:[/] {platform.store.url}")


@app.command()
def init(data_dir: DataDirOption = None) -> None:
    """Prepare a data directory for production: a random secret key file and the schema."""
    settings = settings_for(data_dir, demo=True)  # demo=True only to write the secret file once
    settings.resolve_secret()
    platform = platform_for(data_dir, migrate=True)
    console.print(f"[green]initialised[/] {settings.data_dir} ({platform.store.url})")


@app.command()
def demo(
    data_dir: DataDirOption = None,
    scale: Annotated[int, typer.Option(help="persons in the synthetic city")] = 20_000,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="serve the pages afterwards")
    ] = True,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
) -> None:
    """Build the demo city end to end, print a summary, then serve the pages on 127.0.0.1."""
    from gongshu.demo import DEMO_PASSWORD, build_demo, summary_rows

    settings = settings_for(data_dir, demo=True)
    settings.resolve_secret()
    platform = open_platform(settings, migrate=True)
    with console.status("building the demo city…") as status:
        summary = build_demo(platform, persons=scale, progress=lambda m: status.update(m))
    print_table("gongshu demo city 演示城市", ["", ""], summary_rows(summary))
    url = f"http://{host}:{port}/"
    console.print(f"pages: [bold]{url}[/]   API: {url}api/v1/openapi.json")
    console.print(f"数据驾驶舱 cockpit: [bold]{url}cockpit[/]   质量月报 report: [bold]{url}reports[/]")
    console.print(f"sign in as [bold]admin[/] (operator) or any *_steward, password [bold]{DEMO_PASSWORD}[/]")
    console.print(
        f"共享交换 sharing: [bold]{url}share[/] as huangpu_user (用数方) or ga_reviewer (公安审核); "
        f"市民 citizen: [bold]{url}me/accesses[/] as citizen"
    )
    console.print(
        f"开放门户 open portal: [bold]{url}open[/] (no sign-in)   "
        f"CKAN API: {url}api/3/action/package_search   DCAT-AP: {url}catalog.ttl"
    )
    console.print(
        "开放 stories: developer [bold]kaifazhe[/], enterprise [bold]qiye[/], reviewer [bold]scjg_steward[/]"
    )
    if serve_after:
        _serve(platform, host, port)


@app.command()
def serve(data_dir: DataDirOption = None, host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """Serve the API and pages. Refuses to start without a proper secret key (see `gongshu init`)."""
    platform = platform_for(data_dir)
    _serve(platform, host, port)


def _serve(platform: Platform, host: str, port: int) -> None:
    import uvicorn

    from gongshu.service import create_app
    from gongshu.share.housekeeping import start_housekeeping

    stop = start_housekeeping(platform)
    try:
        uvicorn.run(create_app(platform), host=host, port=port, log_level="info")
    finally:
        stop.set()


def run() -> None:
    """Entry point of the `gongshu` script."""
    try:
        app()
    except GongshuError as error:
        print_error(error)
        sys.exit(error.exit_code)


if __name__ == "__main__":
    run()

"""`gongshu open dcat`: print the open catalogue as DCAT-AP 3, or validate it against the official
DCAT-AP 3.0.0 SHACL shapes (a directory holding SEMIC's ``shapes.ttl``, ``range.ttl``, ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rdflib import Graph

from gongshu.cli.output import DataDirOption, console, platform_for, print_table
from gongshu.errors import NotFound
from gongshu.open import dcat


def open_dcat(
    fmt: Annotated[str, typer.Option("--format", help="ttl | jsonld | xml")] = "ttl",
    page: Annotated[int, typer.Option("--page", help="catalogue page to print (from 1)")] = 1,
    per_page: Annotated[int, typer.Option("--per-page", help="datasets a page")] = dcat.DATASETS_PER_PAGE,
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="one dataset's document, e.g. 103001001-000001")
    ] = None,
    base: Annotated[
        str | None, typer.Option("--base", help="portal address for URIs (default: setting public_url)")
    ] = None,
    validate: Annotated[
        Path | None,
        typer.Option("--validate", help="validate every page (or --dataset) against the shapes in this dir"),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """DCAT-AP 3 目录: print a catalogue page or dataset document, or validate them (--validate DIR)."""
    if fmt not in dcat.FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(dcat.FORMATS)}")
    platform = platform_for(data_dir)
    address = base or platform.settings.public_url or "http://localhost:8000"
    try:
        with platform.store.session() as session:
            if dataset is not None:
                graphs = [(dataset, dcat.dataset_graph(session, address, dataset))]
            elif validate is not None:
                first, info = dcat.catalogue_graph(session, address, per_page=per_page, fmt=fmt)
                graphs = [("page 1", first)]
                for number in range(2, info.pages + 1):
                    graph, _ = dcat.catalogue_graph(session, address, page=number, per_page=per_page, fmt=fmt)
                    graphs.append((f"page {number}", graph))
            else:
                graph, _ = dcat.catalogue_graph(session, address, page=page, per_page=per_page, fmt=fmt)
                graphs = [(f"page {page}", graph)]
    finally:
        platform.close()
    if validate is None:
        typer.echo(dcat.serialize(graphs[0][1], fmt).decode("utf-8"), nl=False)
        return
    if not all((validate / name).is_file() for name in dcat.SHAPE_FILES):
        raise NotFound(
            f"the DCAT-AP 3.0.0 shapes are not all in {validate}",
            hint=f"expected {', '.join(dcat.SHAPE_FILES)} (SEMICeu/DCAT-AP releases/3.0.0/html/shacl)",
        )
    if not _report(graphs, validate):
        raise typer.Exit(1)


def _report(graphs: list[tuple[str, Graph]], shapes: Path) -> bool:
    rows, problems = [], []
    for label, graph in graphs:
        reports = dcat.validate(graph, shapes)
        bad = dcat.unexpected(reports)
        problems += [(label, r) for r in bad]
        for report in reports:
            violations = len(report.violations)
            rows.append(
                [
                    label,
                    report.shapes,
                    "yes" if report.conforms else "no",
                    violations,
                    len(report.results) - violations,
                    sum(1 for r in bad if r.shapes == report.shapes),
                ]
            )
    print_table(
        "DCAT-AP 3.0.0 SHACL",
        ["document", "shapes", "conforms", "violations", "warnings", "unexpected"],
        rows,
    )
    for label, result in problems:
        console.print(f"[red]{label}[/] {result.shapes} {result.severity} {result.path} {result.focus}")
        console.print(f"    {result.message}")
    console.print("known deviations (not defects):")
    for (file, severity, path), reason in dcat.KNOWN_DEVIATIONS.items():
        console.print(f"  {file} {severity} {path.rsplit('/', 1)[-1]}: {reason}")
    return not problems

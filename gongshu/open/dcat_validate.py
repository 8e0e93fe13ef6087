"""Validation of DCAT documents against the official DCAT-AP 3.0.0 SHACL shapes (SEMICeu/DCAT-AP,
``releases/3.0.0/html/shacl/``), kept outside the repository (tests read ``../shared/standards``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Namespace

#: The shape files of the SEMIC release, validated one at a time (several share node-shape IRIs, which
#: would merge if loaded into one graph): mandatory, class ranges, recommended, controlled
#: vocabularies, deprecated URIs. ``imports.ttl`` / ``mdr_imports.ttl`` only list the ontologies and
#: authority tables to import; the documents carry the facts about the terms they use instead.
SHAPE_FILES = (
    "shapes.ttl",
    "range.ttl",
    "shapes_recommended.ttl",
    "mdr-vocabularies.shape.ttl",
    "deprecateduris.ttl",
)


@dataclass(frozen=True)
class ShapeResult:
    """One SHACL validation result."""

    shapes: str
    severity: str  # Violation | Warning | Info
    focus: str
    path: str
    message: str


@dataclass(frozen=True)
class ShapeReport:
    """The results of validating a graph against one shape file."""

    shapes: str
    conforms: bool
    results: tuple[ShapeResult, ...]
    text: str

    @property
    def violations(self) -> tuple[ShapeResult, ...]:
        return tuple(r for r in self.results if r.severity == "Violation")


def validate(graph: Graph, shapes_dir: Path, files: Sequence[str] = SHAPE_FILES) -> list[ShapeReport]:
    """Validate ``graph`` against each DCAT-AP shape file in ``shapes_dir`` (absent files: an error)."""
    from pyshacl import validate as shacl_validate

    sh = Namespace("http://www.w3.org/ns/shacl#")
    reports = []
    for name in files:
        shapes = Graph().parse(shapes_dir / name, format="turtle")
        conforms, results_graph, text = shacl_validate(graph, shacl_graph=shapes, allow_warnings=False)
        assert isinstance(results_graph, Graph)
        results = []
        # only the report's own results: nested sh:detail results explain them and are not listed
        for result in results_graph.objects(None, sh.result):
            severity = results_graph.value(result, sh.resultSeverity)
            results.append(
                ShapeResult(
                    shapes=name,
                    severity=str(severity).rsplit("#", 1)[-1],
                    focus=str(results_graph.value(result, sh.focusNode)),
                    path=str(results_graph.value(result, sh.resultPath) or ""),
                    message=str(results_graph.value(result, sh.resultMessage) or ""),
                )
            )
        reports.append(ShapeReport(name, bool(conforms), tuple(results), str(text)))
    return reports


DCAT_NS = "http://www.w3.org/ns/dcat#"
DCT_NS = "http://purl.org/dc/terms/"

#: Results the catalogue knowingly produces, by (shape file, severity, path), with the reason. Every
#: other result is a defect. ``shapes.ttl`` and ``range.ttl`` have none: the catalogue conforms to them.
KNOWN_DEVIATIONS: dict[tuple[str, str, str], str] = {
    ("shapes_recommended.ttl", "Warning", DCAT_NS + "distribution"): (
        "a dataset whose data is not published yet has no distribution"
    ),
    ("shapes_recommended.ttl", "Warning", DCT_NS + "temporal"): (
        "the national catalogue records no temporal coverage (时间范围) to map"
    ),
    ("shapes_recommended.ttl", "Warning", DCAT_NS + "bbox"): (
        "divisions carry their centre point (dcat:centroid), not a bounding box"
    ),
    ("shapes_recommended.ttl", "Warning", DCAT_NS + "centroid"): (
        "a division whose centre is not in the division table (the city itself in the demo)"
    ),
    ("mdr-vocabularies.shape.ttl", "Warning", DCT_NS + "publisher"): (
        "Chinese departments are not in the EU corporate-body authority table"
    ),
    ("mdr-vocabularies.shape.ttl", "Warning", DCT_NS + "spatial"): (
        "GB/T 2260 divisions are not in the EU country/place/continent tables or GeoNames"
    ),
    ("mdr-vocabularies.shape.ttl", "Violation", "http://spdx.org/rdf/terms#algorithm"): (
        "erratum of the 3.0.0 vocabulary shapes: they require an IRI starting https://spdx.org/rdf/terms, "
        "but SPDX's algorithm individuals (spdx:checksumAlgorithm_sha256) are http://spdx.org/rdf/terms#…"
    ),
}


def unexpected(reports: Sequence[ShapeReport]) -> list[ShapeResult]:
    """The results of ``reports`` that are not :data:`KNOWN_DEVIATIONS`."""
    return [
        r
        for report in reports
        for r in report.results
        if (r.shapes, r.severity, r.path) not in KNOWN_DEVIATIONS
    ]

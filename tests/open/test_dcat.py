"""The DCAT-AP 3 catalogue: SHACL validation of every page and every dataset document against the
official DCAT-AP 3.0.0 shapes (read from ``<repo>/../shared/standards/dcat-ap-3.0.0``), paging,
serialisations, the national-field mapping and the routes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib import namespace as rns
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, RDF

from gongshu.catalogue.models import CatalogEntry
from gongshu.catalogue.specs import THEME_EU, Theme
from gongshu.errors import NotFound, ValidationFailed
from gongshu.open import dcat
from gongshu.open.datasets import OpenDataset, dataset_name, load_open_datasets
from gongshu.open.dcat_terms import CSVW, HYDRA, SPDX
from gongshu.open.keys import create_key
from gongshu.open.models import OpenPublication
from gongshu.orgs.models import Organisation, User
from gongshu.orgs.roles import Role
from gongshu.platform import Platform
from gongshu.service.app import create_app
from gongshu.store.base import utcnow
from tests.conftest import services_required
from tests.demo_city import Demo
from tests.open.conftest import ADDRESSES, ENTERPRISES, NOT_OPEN, portal_user

BASE = "https://data.example.gov.cn"
SHAPES = Path(__file__).resolve().parents[3] / "shared" / "standards" / "dcat-ap-3.0.0"
MANDATORY = ("shapes.ttl", "range.ttl")
EU = "http://publications.europa.eu/resource/authority/"


def shapes_dir() -> Path:
    """The official shapes; skipped where absent, except under GONGSHU_REQUIRE_SERVICES=1 (CI)."""
    missing = [name for name in dcat.SHAPE_FILES if not (SHAPES / name).is_file()]
    if missing:
        reason = f"the DCAT-AP 3.0.0 SHACL shapes are not in {SHAPES} (missing {', '.join(missing)})"
        if services_required():
            pytest.fail(f"{reason}; GONGSHU_REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(reason)
    return SHAPES


def assert_valid(graph: Graph, label: str, files: tuple[str, ...] = dcat.SHAPE_FILES) -> None:
    """Conforms to the mandatory and range shapes; elsewhere only the documented deviations."""
    reports = dcat.validate(graph, shapes_dir(), files)
    for report in reports:
        if report.shapes in MANDATORY:
            assert report.conforms and not report.results, f"{label} vs {report.shapes}:\n{report.text}"
    bad = dcat.unexpected(reports)
    texts = "\n".join(r.text for r in reports if any(b.shapes == r.shapes for b in bad))
    assert not bad, f"{label}: unexpected results {bad}\n{texts}"


def all_pages(session: sa.orm.Session, per_page: int, fmt: str = "ttl") -> list[Graph]:
    first, info = dcat.catalogue_graph(session, BASE, per_page=per_page, fmt=fmt)
    pages = [first]
    for page in range(2, info.pages + 1):
        pages.append(dcat.catalogue_graph(session, BASE, page=page, per_page=per_page, fmt=fmt)[0])
    return pages


def published(datasets: list[OpenDataset]) -> list[OpenDataset]:
    return [d for d in datasets if d.publication is not None]


# --------------------------------------------------------------------------------------------------
# SHACL


def test_whole_catalogue_validates(demo: Demo) -> None:
    """The default page holds every dataset of the demo: all shape files; pages of 5: mandatory + range."""
    with demo.platform.store.session() as session:
        datasets = load_open_datasets(session)
        graph, info = dcat.catalogue_graph(session, BASE)
        assert info.total == len(datasets) and info.pages == 1
        small_pages = all_pages(session, per_page=5)
    assert_valid(graph, "catalogue page 1")
    # the known deviations are the only non-conformances, and each is what it claims to be
    reports = dcat.validate(graph, shapes_dir(), ("shapes_recommended.ttl",))
    no_data = {str(dcat.dataset_uri_for(BASE, d.name)) for d in datasets if d.publication is None}
    for result in reports[0].results:
        if result.path == str(rns.DCAT.distribution):
            assert result.focus in no_data
    assert len(small_pages) == -(-len(datasets) // 5)
    for number, page in enumerate(small_pages, start=1):
        assert_valid(page, f"page {number} of 5", MANDATORY)


def test_every_dataset_document_validates(demo: Demo) -> None:
    with demo.platform.store.session() as session:
        datasets = load_open_datasets(session)
        documents = {d.name: dcat.dataset_graph(session, BASE, d.name) for d in datasets}
    assert published(datasets), "the demo publishes open data"
    union = Graph()
    for name, graph in documents.items():
        assert_valid(graph, f"dataset {name}", MANDATORY)
        union += graph
    assert_valid(union, "all dataset documents together")


def test_handmade_publication_has_valid_distributions(portal: Platform) -> None:
    """A publication row with files written by hand: CSV and JSON distributions, XLSX omitted."""
    with portal.store.session() as session:
        candidates = [d for d in load_open_datasets(session) if d.unconditional]
        target = next((d for d in candidates if d.publication is None), candidates[0])
        version = (target.publication.version if target.publication else 0) + 1
        fields = list(target.published_fields)
        folder = portal.settings.data_dir / "open" / target.name / f"v{version}"
        folder.mkdir(parents=True, exist_ok=True)
        csv = (",".join(fields) + "\n").encode()
        json = b"[]\n"
        files: dict[str, object] = {"xlsx": {"omitted": "test: no workbook"}}
        for fmt, body in (("csv", csv), ("json", json)):
            (folder / f"data.{fmt}").write_bytes(body)
            files[fmt] = {
                "path": f"open/{target.name}/v{version}/data.{fmt}",
                "bytes": len(body),
                "rows": 0,
                "sha256": hashlib.sha256(body).hexdigest(),
            }
        session.add(
            OpenPublication(
                entry_id=target.id,
                version=version,
                rows=0,
                fields=fields,
                datastore=f"open/{target.name}/v{version}/data.parquet",
                files=files,
                published_at=utcnow(),
            )
        )
    with portal.store.session() as session:
        graph = dcat.dataset_graph(session, BASE, target.name)
    dataset = dcat.dataset_uri_for(BASE, target.name)
    distributions = {str(o).rsplit("-", 1)[-1]: o for o in graph.objects(dataset, rns.DCAT.distribution)}
    assert set(distributions) == {"csv", "json"}
    csv_node = distributions["csv"]
    assert graph.value(csv_node, rns.DCAT.byteSize) == Literal(f"{len(csv)}.0", datatype=rns.XSD.decimal)
    checksum = graph.value(csv_node, SPDX.checksum)
    assert graph.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
    assert graph.value(checksum, SPDX.checksumValue) == Literal(
        hashlib.sha256(csv).hexdigest(), datatype=rns.XSD.hexBinary
    )
    assert graph.value(csv_node, rns.DCAT.mediaType) == URIRef(
        "https://www.iana.org/assignments/media-types/text/csv"
    )
    assert graph.value(csv_node, DCTERMS.format) == URIRef(EU + "file-type/CSV")
    assert graph.value(csv_node, rns.DCAT.downloadURL) == URIRef(
        f"{BASE}/open/datasets/{target.name}/download.csv"
    )
    assert_valid(graph, f"hand-made publication of {target.name}")
    reports = dcat.validate(graph, shapes_dir(), ("shapes_recommended.ttl",))
    assert not [r for r in reports[0].results if r.path == str(rns.DCAT.distribution)]


# --------------------------------------------------------------------------------------------------
# Content


def test_only_open_datasets_and_general_items(demo: Demo) -> None:
    with demo.platform.store.session() as session:
        datasets = load_open_datasets(session)
        graph, _ = dcat.catalogue_graph(session, BASE)
        closed = list(
            session.scalars(
                sa.select(CatalogEntry.code).where(CatalogEntry.code.not_in([d.code for d in datasets]))
            )
        )
        with pytest.raises(NotFound):
            dcat.dataset_graph(session, BASE, dataset_name(NOT_OPEN))
    identifiers = {
        str(o)
        for s in graph.subjects(RDF.type, rns.DCAT.Dataset)
        for o in graph.objects(s, DCTERMS.identifier)
    }
    assert identifiers == {d.code for d in datasets}
    assert NOT_OPEN in closed
    text = "".join(dcat.serialize(graph, fmt).decode() for fmt in dcat.FORMATS)
    for code in closed:
        assert code not in text and dataset_name(code) not in text
    columns = {str(o) for o in graph.objects(None, CSVW.name)}
    secret = {f.name for d in datasets for f in d.fields if not f.published}
    assert "legal_rep_id_number" in secret
    for d in datasets:
        assert set(d.published_fields) <= columns
    assert not (secret - {f.name for d in datasets for f in d.fields if f.published}) & columns
    assert "legal_rep_id_number" not in text


def test_paging_covers_every_dataset_exactly_once(demo: Demo) -> None:
    with demo.platform.store.session() as session:
        expected = [dcat.dataset_uri_for(BASE, d.name) for d in load_open_datasets(session)]
        for per_page in (1, 4, 7, 100):
            seen: list[URIRef] = []
            pages = all_pages(session, per_page, fmt="jsonld")
            for number, graph in enumerate(pages, start=1):
                seen += sorted(o for o in graph.objects(None, rns.DCAT.dataset) if isinstance(o, URIRef))
                view = graph.value(predicate=RDF.type, object=HYDRA.PartialCollectionView)
                assert view == dcat.page_url_for(BASE, "jsonld", number, per_page)
                assert graph.value(view, HYDRA.totalItems) == Literal(len(expected))
                assert graph.value(view, HYDRA.first) == dcat.page_url_for(BASE, "jsonld", 1, per_page)
                assert graph.value(view, HYDRA.last) == dcat.page_url_for(
                    BASE, "jsonld", len(pages), per_page
                )
                following = graph.value(view, HYDRA.next)
                previous = graph.value(view, HYDRA.previous)
                assert following == (
                    dcat.page_url_for(BASE, "jsonld", number + 1, per_page) if number < len(pages) else None
                )
                assert previous == (
                    dcat.page_url_for(BASE, "jsonld", number - 1, per_page) if number > 1 else None
                )
                catalog = graph.value(predicate=HYDRA.view, object=view)
                assert (catalog, RDF.type, rns.DCAT.Catalog) in graph
            assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen)), per_page
        with pytest.raises(NotFound):
            dcat.catalogue_graph(session, BASE, page=len(expected) + 1, per_page=1)
        with pytest.raises(ValidationFailed):
            dcat.catalogue_graph(session, BASE, page=0)


@pytest.mark.parametrize("fmt", ["ttl", "jsonld", "xml"])
def test_serialisations_parse_back_to_the_same_triples(demo: Demo, fmt: str) -> None:
    with demo.platform.store.session() as session:
        catalogue, _ = dcat.catalogue_graph(session, BASE, fmt=fmt)
        document = dcat.dataset_graph(session, BASE, dataset_name(ENTERPRISES))
    for graph in (catalogue, document):
        again = dcat.parse(dcat.serialize(graph, fmt), fmt)
        assert len(again) == len(graph) and isomorphic(again, graph)


def test_national_fields_map_to_dcat_ap(demo: Demo) -> None:
    with demo.platform.store.session() as session:
        datasets = load_open_datasets(session)
        graph, _ = dcat.catalogue_graph(session, BASE)
        orgs = {o.code: o for o in session.scalars(sa.select(Organisation))}
    frequency = {
        "实时": "CONT",
        "每日": "DAILY",
        "每周": "WEEKLY",
        "每月": "MONTHLY",
        "每季度": "QUARTERLY",
        "每年": "ANNUAL",
        "不定期": "IRREG",
    }
    access = {"无条件开放": "PUBLIC", "有条件开放": "RESTRICTED"}
    assert {d.update_cycle for d in datasets} >= {"实时", "每周", "每月", "每年"}
    for d in datasets:
        node = dcat.dataset_uri_for(BASE, d.name)
        assert graph.value(node, DCTERMS.identifier) == Literal(d.code)
        assert graph.value(node, DCTERMS.title) == Literal(d.title, lang="zh")
        assert graph.value(node, DCTERMS.accrualPeriodicity) == URIRef(
            EU + "frequency/" + frequency[d.update_cycle]
        )
        assert graph.value(node, DCTERMS.accessRights) == URIRef(EU + "access-right/" + access[d.open_type])
        if d.theme:
            assert graph.value(node, rns.DCAT.theme) == URIRef(EU + "data-theme/" + THEME_EU[Theme(d.theme)])
        assert {str(k) for k in graph.objects(node, rns.DCAT.keyword)} == set(d.tags)
        assert graph.value(node, rns.DCAT.landingPage) == URIRef(f"{BASE}/open/datasets/{d.name}")
        modified = graph.value(node, DCTERMS.modified)
        assert isinstance(modified, Literal) and modified.datatype == rns.XSD.dateTime
        if d.publish_date is not None:
            assert graph.value(node, DCTERMS.issued) == Literal(
                d.publish_date.isoformat(), datatype=rns.XSD.date
            )
        publisher = graph.value(node, DCTERMS.publisher)
        assert (publisher, RDF.type, FOAF.Agent) in graph
        assert graph.value(publisher, DCTERMS.identifier) == Literal(orgs[d.provider_code].uscc)
        assert Literal(d.provider_name, lang="zh") in set(graph.objects(publisher, FOAF.name))
        assert graph.value(node, DCTERMS.spatial) == URIRef(f"{BASE}/open/divisions/{d.district_code}")
        if d.publication is not None:
            files = {
                str(graph.value(x, DCTERMS.identifier)) for x in graph.objects(node, rns.DCAT.distribution)
            }
            assert files == {
                f"{d.name}-{fmt}"
                for fmt in ("csv", "json", "xlsx")
                if "sha256" in d.publication.files.get(fmt, {})
            }
            values = {
                str(graph.value(graph.value(x, SPDX.checksum), SPDX.checksumValue))
                for x in graph.objects(node, rns.DCAT.distribution)
            }
            assert values == {
                d.publication.files[f]["sha256"] for f in ("csv", "json", "xlsx") if f"{d.name}-{f}" in files
            }
            for x in graph.objects(node, rns.DCAT.distribution):
                # 有条件开放: the data-use agreement and the conditions; 无条件开放: the open licence only
                assert ((x, DCTERMS.rights, None) in graph) == (not d.unconditional)

    catalog = graph.value(predicate=RDF.type, object=rns.DCAT.Catalog)
    operator = graph.value(catalog, DCTERMS.publisher)
    center = next(o for o in orgs.values() if o.kind == "center")
    assert graph.value(operator, DCTERMS.identifier) == Literal(center.uscc)
    assert Literal(center.name, lang="zh") in set(graph.objects(operator, FOAF.name))
    assert {str(t.language) for t in graph.objects(catalog, DCTERMS.title)} == {"zh", "en"}
    service = graph.value(catalog, rns.DCAT.service)
    assert graph.value(service, rns.DCAT.endpointURL) == URIRef(f"{BASE}/api/3/action/")
    assert set(graph.objects(service, rns.DCAT.servesDataset)) == {
        dcat.dataset_uri_for(BASE, d.name) for d in datasets
    }


# --------------------------------------------------------------------------------------------------
# Routes


@pytest.fixture(scope="module")
def client(portal: Platform) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The real service with a developer key (its rate limit is above the anonymous one)."""
    developer = portal_user(portal, "dcat_developer", [Role.DEVELOPER])
    with portal.store.session() as session:
        user = session.get(User, developer.user_id)
        assert user is not None
        _, secret = create_key(session, user, "dcat", actor=developer)
    with TestClient(create_app(portal)) as opened:
        yield opened, {"Authorization": secret}


MEDIA = {"ttl": "text/turtle", "jsonld": "application/ld+json", "xml": "application/rdf+xml"}


@pytest.mark.parametrize("fmt", ["ttl", "jsonld", "xml"])
def test_catalogue_routes(client: tuple[TestClient, dict[str, str]], fmt: str) -> None:
    http, headers = client
    response = http.get(f"/catalog.{fmt}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == MEDIA[fmt]
    graph = dcat.parse(response.content, fmt)
    base = "http://testserver"
    assert (URIRef(f"{base}/open#catalog"), RDF.type, rns.DCAT.Catalog) in graph
    assert (dcat.dataset_uri_for(base, dataset_name(ADDRESSES)), RDF.type, rns.DCAT.Dataset) in graph
    paged = http.get(f"/catalog.{fmt}?page=2&per_page=3", headers=headers)
    assert paged.status_code == 200
    view = dcat.parse(paged.content, fmt).value(predicate=RDF.type, object=HYDRA.PartialCollectionView)
    assert view == dcat.page_url_for(base, fmt, 2, 3)
    document = http.get(f"/open/datasets/{dataset_name(ENTERPRISES)}/dcat.{fmt}", headers=headers)
    assert document.status_code == 200
    assert document.headers["content-type"].split(";")[0] == MEDIA[fmt]
    assert (dcat.dataset_uri_for(base, dataset_name(ENTERPRISES)), RDF.type, rns.DCAT.Dataset) in dcat.parse(
        document.content, fmt
    )


def test_route_errors_and_neighbours(client: tuple[TestClient, dict[str, str]]) -> None:
    http, headers = client
    assert http.get(f"/open/datasets/{dataset_name(NOT_OPEN)}/dcat.ttl", headers=headers).status_code == 404
    assert http.get("/open/datasets/999999999-999999/dcat.jsonld", headers=headers).status_code == 404
    assert http.get("/catalog.ttl?page=999", headers=headers).status_code == 404
    assert http.get("/catalog.ttl?page=0", headers=headers).status_code == 422
    # the government catalogue's own /catalog.json twin is still served by its page route
    government = http.get("/catalog.json", headers=headers, follow_redirects=False)
    assert government.status_code != 422
    assert "turtle" not in government.headers.get("content-type", "")

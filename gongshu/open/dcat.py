"""The open catalogue as DCAT-AP 3 (开放目录的 DCAT-AP 3 表示): Turtle, JSON-LD and RDF/XML.

The catalogue (``dcat:Catalog``) is published by the platform operator (大数据中心); each open dataset
(:func:`gongshu.open.datasets.load_open_datasets`) is a ``dcat:Dataset`` published by its department
(``foaf:Agent`` carrying its 统一社会信用代码), with one ``dcat:Distribution`` per published file and the
CKAN Action API as the ``dcat:DataService``. ``docs/open-dcat.md`` has the field mapping.

The catalogue is paged like ckanext-dcat's ``/catalog.{format}?page=N``: :data:`DATASETS_PER_PAGE`
datasets a page, with a Hydra ``PartialCollectionView`` (first/last/next/previous, totalItems).

Every document is self-contained for validation against the official DCAT-AP 3.0.0 SHACL shapes: the
controlled-vocabulary terms it uses (EU frequency, access-right, data-theme, file-type, language and
planned-availability authority tables, the ADMS publisher and licence types) are described in it with
the class, label and scheme that the shapes consult, which an online validator would otherwise take
from the vocabularies listed in the shapes' ``imports.ttl`` and ``mdr_imports.ttl``.

Only 无条件开放 / 有条件开放 entries appear (metadata of both is public), and only 信息项 graded 一般.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD
from rdflib.term import Node
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry
from gongshu.catalogue.specs import THEME_EU, Theme
from gongshu.errors import NotFound, ValidationFailed
from gongshu.open.datasets import (
    DOWNLOAD_FORMATS,
    OpenDataset,
    OpenField,
    current_publications,
    open_dataset,
    open_entries_query,
    to_dataset,
)
from gongshu.open.dcat_terms import (
    ACCESS_RIGHTS,
    ADMS,
    ADMS_LABELS,
    ADMS_SCHEMES,
    CHECKSUM_SHA256,
    CKAN_API_DOCS,
    CSVW,
    DATASETS_PER_PAGE,
    DCAT_VERSION,
    DCATAP,
    EU,
    FILE_TYPES,
    FORMATS,
    FREQUENCY,
    GSP,
    HYDRA,
    IANA,
    ITEM_DATATYPES,
    LABELS,
    LICENCE_TYPES,
    MAX_PER_PAGE,
    OPEN_LICENCE,
    PREFIXES,
    PUBLISHER_TYPES,
    SCHEME_TITLES,
    SPDX,
    VCARD,
)
from gongshu.open.dcat_validate import (
    KNOWN_DEVIATIONS,
    SHAPE_FILES,
    ShapeReport,
    ShapeResult,
    unexpected,
    validate,
)
from gongshu.open.models import OpenPublication
from gongshu.orgs.models import Division, Organisation


@dataclass(frozen=True)
class Agent:
    """An organisation as a DCAT agent."""

    code: str
    name: str
    name_en: str
    uscc: str | None
    regional: bool  # a city-level body (省级/直辖市) rather than a district one


@dataclass(frozen=True)
class Place:
    """An administrative division (GB/T 2260) as a ``dct:Location``."""

    code: str
    name: str
    name_en: str
    lon: float | None
    lat: float | None


@dataclass(frozen=True)
class Context:
    """What every document needs besides its datasets: the base URL, organisations and divisions."""

    base: str
    operator: Agent
    agents: dict[str, Agent]
    places: dict[str, Place]
    city: str  # the operator's division code

    def url(self, path: str) -> str:
        return self.base + path


@dataclass(frozen=True)
class PageInfo:
    """Where a page of the catalogue sits among all pages."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def load_context(session: Session, base: str) -> Context:
    """Organisations and divisions of the city, the operator (the ``center`` organisation) first."""
    divisions = {d.code: d for d in session.scalars(sa.select(Division))}
    orgs = list(session.scalars(sa.select(Organisation).order_by(Organisation.id)))

    def agent(org: Organisation) -> Agent:
        division = divisions.get(org.division_code)
        regional = division is None or division.level == "city"
        return Agent(org.code, org.name, org.name_en or org.code, org.uscc, regional)

    agents = {org.code: agent(org) for org in orgs}
    center = next((org for org in orgs if org.kind == "center"), None)
    if center is not None:
        operator, city = agents[center.code], center.division_code
    else:
        city = next((d.code for d in divisions.values() if d.level == "city"), "")
        operator = Agent("OPERATOR", "公共数据开放平台", "Public data open platform", None, True)
    places = {
        d.code: Place(d.code, d.name, d.name_en, d.lon, d.lat)
        for d in divisions.values()
        if d.lon is not None or d.level in ("city", "district")
    }
    return Context(base.rstrip("/"), operator, agents, places, city)


# ---------------------------------------------------------------------------------------------------
# URIs


def catalog_uri(ctx: Context) -> URIRef:
    return URIRef(ctx.url("/open#catalog"))


def landing_page(ctx: Context, name: str) -> str:
    return ctx.url(f"/open/datasets/{name}")


def dataset_uri(ctx: Context, name: str) -> URIRef:
    return dataset_uri_for(ctx.base, name)


def dataset_uri_for(base: str, name: str) -> URIRef:
    """The URI of the open dataset ``name`` on the portal at ``base``."""
    return URIRef(f"{base.rstrip('/')}/open/datasets/{name}#dataset")


def service_uri(ctx: Context) -> URIRef:
    return URIRef(ctx.url("/open#ckan-api"))


def agent_uri(ctx: Context, code: str) -> URIRef:
    return URIRef(ctx.url(f"/open/departments/{code}#agent"))


def place_uri(ctx: Context, code: str) -> URIRef:
    return URIRef(ctx.url(f"/open/divisions/{code}"))


def page_url(ctx: Context, fmt: str, page: int, per_page: int) -> URIRef:
    return page_url_for(ctx.base, fmt, page, per_page)


def page_url_for(base: str, fmt: str, page: int, per_page: int = DATASETS_PER_PAGE) -> URIRef:
    """The URL of one catalogue page (``per_page`` only when not the default)."""
    query = f"?page={page}" if per_page == DATASETS_PER_PAGE else f"?page={page}&per_page={per_page}"
    return URIRef(f"{base.rstrip('/')}/catalog.{fmt}{query}")


# ---------------------------------------------------------------------------------------------------
# Building graphs


def new_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph


def _texts(graph: Graph, subject: Node, predicate: URIRef, zh: str, en: str | None = None) -> None:
    graph.add((subject, predicate, Literal(zh, lang="zh")))
    if en:
        graph.add((subject, predicate, Literal(en, lang="en")))


def _datetime(value: datetime) -> Literal:
    return Literal(value.isoformat(timespec="seconds"), datatype=XSD.dateTime)


def _date(value: date) -> Literal:
    return Literal(value.isoformat(), datatype=XSD.date)


class Builder:
    """Adds catalogue resources to one graph, describing each vocabulary term and agent once."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.graph = new_graph()
        self._described: set[str] = set()

    def _once(self, key: str) -> bool:
        if key in self._described:
            return False
        self._described.add(key)
        return True

    # vocabulary terms ------------------------------------------------------------------------------

    def eu(self, table_code: str, *classes: URIRef) -> URIRef:
        """An EU authority-table term (``frequency/DAILY``) with its label, scheme and classes."""
        uri = URIRef(EU + table_code)
        if self._once(str(uri)):
            g = self.graph
            table = table_code.split("/", 1)[0]
            scheme = URIRef(EU + table)
            en, zh = LABELS[table_code]
            g.add((uri, RDF.type, SKOS.Concept))
            for cls in classes:
                g.add((uri, RDF.type, cls))
            _texts(g, uri, SKOS.prefLabel, zh, en)
            g.add((uri, SKOS.inScheme, scheme))
            if self._once(str(scheme)):
                g.add((scheme, RDF.type, SKOS.ConceptScheme))
                title_en, title_zh = SCHEME_TITLES[table]
                _texts(g, scheme, DCTERMS.title, title_zh, title_en)
        return uri

    def adms(self, uri_text: str, scheme_text: str) -> URIRef:
        """An ADMS publisher-type or licence-type term."""
        uri, scheme = URIRef(uri_text), URIRef(scheme_text)
        if self._once(uri_text):
            g = self.graph
            en, zh = ADMS_LABELS[uri_text]
            g.add((uri, RDF.type, SKOS.Concept))
            _texts(g, uri, SKOS.prefLabel, zh, en)
            g.add((uri, SKOS.inScheme, scheme))
            if self._once(scheme_text):
                g.add((scheme, RDF.type, SKOS.ConceptScheme))
                title_en, title_zh = ADMS_SCHEMES[scheme_text]
                _texts(g, scheme, DCTERMS.title, title_zh, title_en)
        return uri

    def language(self, code: str) -> URIRef:
        return self.eu(f"language/{code}", DCTERMS.LinguisticSystem)

    def document(self, url: str) -> URIRef:
        uri = URIRef(url)
        self.graph.add((uri, RDF.type, FOAF.Document))
        return uri

    def media_type(self, media: str) -> URIRef:
        uri = URIRef(IANA + media)
        self.graph.add((uri, RDF.type, DCTERMS.MediaType))
        return uri

    def open_licence(self) -> URIRef:
        uri = URIRef(OPEN_LICENCE)
        if self._once(OPEN_LICENCE):
            g = self.graph
            g.add((uri, RDF.type, DCTERMS.LicenseDocument))
            _texts(g, uri, RDFS.label, "知识共享署名 4.0 国际许可协议", "Creative Commons Attribution 4.0")
            g.add((uri, DCTERMS.type, self.adms(LICENCE_TYPES + "Attribution", LICENCE_TYPES + "1.0")))
        return uri

    def agreement(self, ds: OpenDataset) -> URIRef:
        """The data-use agreement (数据利用协议) a conditional dataset's data is used under."""
        uri = URIRef(landing_page(self.ctx, ds.name) + "/apply#agreement")
        g = self.graph
        g.add((uri, RDF.type, DCTERMS.LicenseDocument))
        _texts(
            g,
            uri,
            RDFS.label,
            "数据利用协议（有条件开放申请获批后签署，限批准的用途、信息项和期限）",
            "Data-use agreement signed on an approved conditional-open application "
            "(limited to the approved purpose, data items and duration)",
        )
        restrictive = LICENCE_TYPES + "OtherRestrictiveClauses"
        g.add((uri, DCTERMS.type, self.adms(restrictive, LICENCE_TYPES + "1.0")))
        return uri

    def place(self, code: str) -> URIRef:
        uri = place_uri(self.ctx, code)
        if self._once(str(uri)):
            g = self.graph
            g.add((uri, RDF.type, DCTERMS.Location))
            g.add((uri, DCTERMS.identifier, Literal(code)))
            place = self.ctx.places.get(code)
            if place is not None:
                _texts(g, uri, RDFS.label, place.name, place.name_en)
                if place.lon is not None and place.lat is not None:
                    wkt = f"POINT({place.lon} {place.lat})"
                    g.add((uri, DCAT.centroid, Literal(wkt, datatype=GSP.wktLiteral)))
        return uri

    def agent(self, code: str) -> URIRef:
        """A department (or the operator) as ``foaf:Agent`` with its 统一社会信用代码."""
        uri = agent_uri(self.ctx, code)
        if self._once(str(uri)):
            g = self.graph
            agent = self.ctx.agents.get(code) or self.ctx.operator
            g.add((uri, RDF.type, FOAF.Agent))
            g.add((uri, RDF.type, FOAF.Organization))
            _texts(g, uri, FOAF.name, agent.name, agent.name_en)
            if agent.uscc:
                g.add((uri, DCTERMS.identifier, Literal(agent.uscc)))
                identifier = URIRef(f"{uri}-uscc")
                g.add((uri, ADMS.identifier, identifier))
                g.add((identifier, RDF.type, ADMS.Identifier))
                g.add((identifier, SKOS.notation, Literal(agent.uscc)))
                _texts(g, identifier, ADMS.schemeAgency, "统一社会信用代码（GB 32100）", None)
            kind = "RegionalAuthority" if agent.regional else "LocalAuthority"
            g.add((uri, DCTERMS.type, self.adms(PUBLISHER_TYPES + kind, PUBLISHER_TYPES + "1.0")))
            g.add((uri, FOAF.homepage, self.document(self.ctx.url(f"/open/departments/{code}"))))
        return uri

    def contact(self, code: str) -> URIRef:
        uri = URIRef(self.ctx.url(f"/open/departments/{code}#contact"))
        if self._once(str(uri)):
            g = self.graph
            agent = self.ctx.agents.get(code) or self.ctx.operator
            g.add((uri, RDF.type, VCARD.Organization))
            g.add((uri, RDF.type, VCARD.Kind))
            g.add((uri, VCARD.fn, Literal(agent.name, lang="zh")))
            g.add((uri, VCARD["organization-name"], Literal(agent.name, lang="zh")))
            g.add((uri, VCARD.hasURL, URIRef(self.ctx.url(f"/open/departments/{code}"))))
        return uri

    # resources -------------------------------------------------------------------------------------

    def service(self, datasets: Iterable[OpenDataset]) -> URIRef:
        """The CKAN Action API as a ``dcat:DataService`` serving ``datasets``."""
        g, ctx = self.graph, self.ctx
        uri = service_uri(ctx)
        g.add((uri, RDF.type, DCAT.DataService))
        _texts(g, uri, DCTERMS.title, "CKAN 兼容数据接口", "CKAN-compatible Action API")
        _texts(
            g,
            uri,
            DCTERMS.description,
            "与 CKAN Action API 兼容的数据目录与数据查询接口（package_search、datastore_search 等）。",
            "The catalogue and data query API, compatible with CKAN's Action API "
            "(package_search, datastore_search, ...).",
        )
        g.add((uri, DCAT.endpointURL, URIRef(ctx.url("/api/3/action/"))))
        g.add((uri, DCAT.endpointDescription, URIRef(ctx.url("/open/developer"))))
        standard = URIRef(CKAN_API_DOCS)
        g.add((standard, RDF.type, DCTERMS.Standard))
        g.add((standard, DCTERMS.title, Literal("CKAN Action API", lang="en")))
        g.add((uri, DCTERMS.conformsTo, standard))
        g.add((uri, DCTERMS.publisher, self.agent(ctx.operator.code)))
        g.add((uri, DCAT.contactPoint, self.contact(ctx.operator.code)))
        g.add((uri, DCAT.theme, self.eu("data-theme/GOVE")))
        for keyword in ("CKAN", "API", "开放数据"):
            g.add((uri, DCAT.keyword, Literal(keyword, lang="zh")))
        g.add((uri, DCTERMS.accessRights, self.eu("access-right/PUBLIC", DCTERMS.RightsStatement)))
        g.add((uri, DCTERMS.license, self.open_licence()))
        g.add((uri, DCAT.landingPage, self.document(ctx.url("/open/developer"))))
        for ds in datasets:
            g.add((uri, DCAT.servesDataset, dataset_uri(ctx, ds.name)))
        return uri

    def dataset(self, ds: OpenDataset) -> URIRef:
        """One open dataset with its publisher, schema (信息项) and distributions."""
        g, ctx = self.graph, self.ctx
        uri = dataset_uri(ctx, ds.name)
        g.add((uri, RDF.type, DCAT.Dataset))
        g.add((uri, DCTERMS.identifier, Literal(ds.code)))
        g.add((uri, DCTERMS.title, Literal(ds.title, lang="zh")))
        g.add((uri, DCTERMS.description, Literal(ds.summary.strip() or ds.title, lang="zh")))
        g.add((uri, DCTERMS.publisher, self.agent(ds.provider_code)))
        g.add((uri, DCAT.contactPoint, self.contact(ds.provider_code)))
        theme = _theme_code(ds.theme)
        if theme is not None:
            g.add((uri, DCAT.theme, self.eu(f"data-theme/{theme}")))
        for tag in ds.tags:
            g.add((uri, DCAT.keyword, Literal(tag, lang="zh")))
        frequency = FREQUENCY.get(ds.update_cycle)
        if frequency is not None:
            g.add((uri, DCTERMS.accrualPeriodicity, self.eu(f"frequency/{frequency}", DCTERMS.Frequency)))
        access = ACCESS_RIGHTS[ds.open_type]
        g.add((uri, DCTERMS.accessRights, self.eu(f"access-right/{access}", DCTERMS.RightsStatement)))
        if ds.publish_date is not None:
            g.add((uri, DCTERMS.issued, _date(ds.publish_date)))
        g.add((uri, DCTERMS.modified, _datetime(ds.modified)))
        g.add((uri, DCTERMS.spatial, self.place(ds.district_code)))
        g.add((uri, DCTERMS.language, self.language("ZHO")))
        g.add((uri, DCAT.landingPage, self.document(landing_page(ctx, ds.name))))
        schema = self.schema(ds)
        if schema is not None:
            g.add((uri, DCTERMS.conformsTo, schema))
        if ds.publication is not None:
            g.add((uri, DCAT_VERSION, Literal(str(ds.publication.version))))
            for fmt in DOWNLOAD_FORMATS:
                distribution = self.distribution(ds, fmt, schema)
                if distribution is not None:
                    g.add((uri, DCAT.distribution, distribution))
        return uri

    def schema(self, ds: OpenDataset) -> URIRef | None:
        """The published 信息项 (一般 only) as a ``dct:Standard`` with a CSVW table schema."""
        fields: Sequence[OpenField] = [f for f in ds.fields if f.published]
        if not fields:
            return None
        g = self.graph
        uri = URIRef(landing_page(self.ctx, ds.name) + "#schema")
        g.add((uri, RDF.type, DCTERMS.Standard))
        g.add((uri, RDF.type, CSVW.Schema))
        _texts(g, uri, DCTERMS.title, f"{ds.title}信息项", f"Data items of {ds.code}")
        columns: list[Node] = []
        for item in fields:
            column = URIRef(f"{uri}-{item.name}")
            g.add((column, RDF.type, CSVW.Column))
            g.add((column, CSVW.name, Literal(item.name)))
            g.add((column, CSVW.title, Literal(item.label, lang="zh")))
            g.add((column, CSVW.datatype, ITEM_DATATYPES.get(item.type, XSD.string)))
            if item.element:
                g.add((column, DCTERMS.identifier, Literal(item.element)))
            columns.append(column)
        head = BNode()
        Collection(g, head, columns)
        g.add((uri, CSVW.column, head))
        return uri

    def distribution(self, ds: OpenDataset, fmt: str, schema: URIRef | None) -> URIRef | None:
        """The published file ``fmt`` of ``ds`` (None when it was not written)."""
        assert ds.publication is not None
        info = ds.publication.files.get(fmt)
        if not isinstance(info, dict) or "omitted" in info or fmt not in FILE_TYPES:
            return None
        g, ctx = self.graph, self.ctx
        landing = landing_page(ctx, ds.name)
        uri = URIRef(f"{landing}#distribution-{fmt}")
        code, media = FILE_TYPES[fmt]
        download = URIRef(f"{landing}/download.{fmt}")
        g.add((uri, RDF.type, DCAT.Distribution))
        g.add((uri, DCTERMS.identifier, Literal(f"{ds.name}-{fmt}")))
        _texts(g, uri, DCTERMS.title, f"{ds.title}（{code}）", f"{ds.code} ({code})")
        rows = int(info.get("rows", ds.publication.rows))
        _texts(
            g,
            uri,
            DCTERMS.description,
            f"第 {ds.publication.version} 版发布数据，共 {rows} 行、{len(ds.publication.fields)} 个信息项。",
            f"Published version {ds.publication.version}: {rows} rows, "
            f"{len(ds.publication.fields)} data items.",
        )
        g.add((uri, DCAT.accessURL, download))
        g.add((uri, DCAT.downloadURL, download))
        g.add((uri, DCTERMS.format, self.eu(f"file-type/{code}", DCTERMS.MediaTypeOrExtent)))
        g.add((uri, DCAT.mediaType, self.media_type(media)))
        if "bytes" in info:
            # xsd:decimal as shapes.ttl requires (DCAT 3 says nonNegativeInteger), in the canonical form
            # ("1234.0") that Turtle's shorthand writes, so every serialisation reads back identically
            size = Literal(f"{int(info['bytes'])}.0", datatype=XSD.decimal)
            g.add((uri, DCAT.byteSize, size))
        if info.get("sha256"):
            checksum = URIRef(f"{uri}-sha256")
            g.add((uri, SPDX.checksum, checksum))
            g.add((checksum, RDF.type, SPDX.Checksum))
            g.add((checksum, SPDX.algorithm, CHECKSUM_SHA256))
            g.add((checksum, SPDX.checksumValue, Literal(str(info["sha256"]), datatype=XSD.hexBinary)))
            g.add((CHECKSUM_SHA256, RDF.type, SPDX.ChecksumAlgorithm))
        g.add((uri, DCTERMS.issued, _datetime(ds.publication.published_at)))
        g.add((uri, DCTERMS.modified, _datetime(ds.publication.published_at)))
        g.add((uri, DCATAP.availability, self.eu("planned-availability/STABLE")))
        if schema is not None:
            g.add((uri, DCTERMS.conformsTo, schema))
        if fmt == "csv":
            g.add((uri, DCAT.accessService, service_uri(ctx)))
        if ds.unconditional:
            g.add((uri, DCTERMS.license, self.open_licence()))
        else:
            g.add((uri, DCTERMS.license, self.agreement(ds)))
            g.add((uri, DCTERMS.rights, self.conditions(ds)))
        return uri

    def conditions(self, ds: OpenDataset) -> URIRef:
        """The rights statement of a 有条件开放 dataset's data: 开放条件 and how to get access."""
        g = self.graph
        uri = URIRef(landing_page(self.ctx, ds.name) + "#conditions")
        g.add((uri, RDF.type, DCTERMS.RightsStatement))
        condition = (ds.open_condition or "").strip()
        zh = "有条件开放：须在线申请并经数据提供部门审核批准，凭授权凭证访问批准的信息项。"
        en = (
            "Conditionally open: apply online; after the providing department approves, access the "
            "approved data items with the issued credential."
        )
        _texts(g, uri, RDFS.label, zh + (f"开放条件：{condition}" if condition else ""), en)
        return uri

    def catalog(self, datasets: Sequence[OpenDataset], info: PageInfo, fmt: str, stamps: Stamps) -> URIRef:
        """The ``dcat:Catalog`` with the datasets of one page and its Hydra paging view."""
        g, ctx = self.graph, self.ctx
        uri = catalog_uri(ctx)
        city = ctx.places.get(ctx.city)
        city_zh = city.name if city else ""
        city_en = f"{city.name_en} " if city else ""
        g.add((uri, RDF.type, DCAT.Catalog))
        _texts(g, uri, DCTERMS.title, f"{city_zh}公共数据开放平台", f"{city_en}Public Data Open Platform")
        _texts(
            g,
            uri,
            DCTERMS.description,
            f"{city_zh}各部门依法开放的公共数据目录：无条件开放数据可直接下载，有条件开放数据经申请批准后使用。",
            f"The open public data of {city_en}departments: unconditionally open data can be "
            "downloaded directly; conditionally open data is used after an approved application.",
        )
        g.add((uri, DCTERMS.publisher, self.agent(ctx.operator.code)))
        g.add((uri, FOAF.homepage, self.document(ctx.url("/open"))))
        g.add((uri, DCTERMS.language, self.language("ZHO")))
        g.add((uri, DCTERMS.language, self.language("ENG")))
        g.add((uri, DCTERMS.license, self.open_licence()))
        if ctx.city:
            g.add((uri, DCTERMS.spatial, self.place(ctx.city)))
        if stamps.issued is not None:
            g.add((uri, DCTERMS.issued, _date(stamps.issued)))
        if stamps.modified is not None:
            g.add((uri, DCTERMS.modified, _datetime(stamps.modified)))
        taxonomy = URIRef(EU + "data-theme")
        g.add((uri, DCAT.themeTaxonomy, taxonomy))
        g.add((taxonomy, RDF.type, SKOS.ConceptScheme))
        _texts(g, taxonomy, DCTERMS.title, SCHEME_TITLES["data-theme"][1], SCHEME_TITLES["data-theme"][0])
        g.add((uri, DCAT.service, self.service(datasets)))
        for ds in datasets:
            g.add((uri, DCAT.dataset, self.dataset(ds)))
        # paging (Hydra), as ckanext-dcat's catalogue endpoint
        g.add((uri, RDF.type, HYDRA.Collection))
        g.add((uri, HYDRA.totalItems, Literal(info.total)))
        view = page_url(ctx, fmt, info.page, info.per_page)
        g.add((uri, HYDRA.view, view))
        g.add((view, RDF.type, HYDRA.PartialCollectionView))
        g.add((view, HYDRA.totalItems, Literal(info.total)))
        g.add((view, HYDRA.itemsPerPage, Literal(info.per_page)))
        g.add((view, HYDRA.first, page_url(ctx, fmt, 1, info.per_page)))
        g.add((view, HYDRA.last, page_url(ctx, fmt, info.pages, info.per_page)))
        if info.page > 1:
            g.add((view, HYDRA.previous, page_url(ctx, fmt, info.page - 1, info.per_page)))
        if info.page < info.pages:
            g.add((view, HYDRA.next, page_url(ctx, fmt, info.page + 1, info.per_page)))
        return uri


def _theme_code(theme: str | None) -> str | None:
    if theme is None:
        return None
    try:
        return THEME_EU[Theme(theme)]
    except ValueError:
        return None


@dataclass(frozen=True)
class Stamps:
    """The catalogue's dct:issued (first 发布日期) and dct:modified (newest change of any dataset)."""

    issued: date | None
    modified: datetime | None


def catalogue_stamps(session: Session) -> Stamps:
    entries = open_entries_query().subquery()
    issued, updated = session.execute(
        sa.select(sa.func.min(entries.c.publish_date), sa.func.max(entries.c.updated_at))
    ).one()
    published = session.scalar(
        sa.select(sa.func.max(OpenPublication.published_at)).where(
            OpenPublication.entry_id.in_(sa.select(entries.c.id))
        )
    )
    modified = max((v for v in (updated, published) if v is not None), default=None)
    return Stamps(issued, modified)


# ---------------------------------------------------------------------------------------------------
# Documents


def count_open(session: Session) -> int:
    entries = open_entries_query().subquery()
    return int(session.scalar(sa.select(sa.func.count()).select_from(entries)) or 0)


def page_datasets(session: Session, page: int, per_page: int) -> list[OpenDataset]:
    """The open datasets of one page, in 资源代码 order (the order of :func:`load_open_datasets`)."""
    query = open_entries_query().order_by(CatalogEntry.code).offset((page - 1) * per_page).limit(per_page)
    entries = list(session.scalars(query).unique())
    publications = current_publications(session, [e.id for e in entries])
    return [to_dataset(entry, publications.get(entry.id)) for entry in entries]


def check_paging(page: int, per_page: int) -> None:
    problems: dict[str, list[str]] = {}
    if page < 1:
        problems["page"] = ["page must be a positive integer starting at 1 (页码从 1 开始)"]
    if not 1 <= per_page <= MAX_PER_PAGE:
        problems["per_page"] = [f"per_page must be between 1 and {MAX_PER_PAGE}"]
    if problems:
        raise ValidationFailed(problems)


def catalogue_graph(
    session: Session, base: str, *, page: int = 1, per_page: int = DATASETS_PER_PAGE, fmt: str = "ttl"
) -> tuple[Graph, PageInfo]:
    """Page ``page`` of the catalogue (its paging links point at ``/catalog.{fmt}``).

    A page after the last is :class:`NotFound`; page 1 of an empty catalogue is the catalogue alone.
    """
    check_paging(page, per_page)
    info = PageInfo(page, per_page, count_open(session))
    if page > info.pages:
        raise NotFound(f"the catalogue has {info.pages} page(s), not {page}", value=str(page))
    builder = Builder(load_context(session, base))
    builder.catalog(page_datasets(session, page, per_page), info, fmt, catalogue_stamps(session))
    return builder.graph, info


def dataset_graph(session: Session, base: str, name: str) -> Graph:
    """The DCAT document of one open dataset (:class:`NotFound` for anything not open)."""
    ds = open_dataset(session, name)
    builder = Builder(load_context(session, base))
    builder.dataset(ds)
    builder.service([ds])
    return builder.graph


def serialize(graph: Graph, fmt: str) -> bytes:
    """``graph`` as ``ttl``, ``jsonld`` or ``xml`` (UTF-8)."""
    rdflib_format, _ = FORMATS[fmt]
    if fmt == "jsonld":
        context = {prefix: str(ns) for prefix, ns in PREFIXES.items()}
        text = graph.serialize(format=rdflib_format, context=context, auto_compact=True)
    else:
        text = graph.serialize(format=rdflib_format)
    return text.encode("utf-8")


def parse(data: bytes | str, fmt: str) -> Graph:
    """Parse a serialisation made by :func:`serialize`."""
    graph = Graph()
    graph.parse(data=data, format=FORMATS[fmt][0])
    return graph


__all__ = [
    "ACCESS_RIGHTS",
    "DATASETS_PER_PAGE",
    "FORMATS",
    "FREQUENCY",
    "KNOWN_DEVIATIONS",
    "MAX_PER_PAGE",
    "SHAPE_FILES",
    "PageInfo",
    "ShapeReport",
    "ShapeResult",
    "catalogue_graph",
    "dataset_graph",
    "dataset_uri_for",
    "page_url_for",
    "parse",
    "serialize",
    "unexpected",
    "validate",
]

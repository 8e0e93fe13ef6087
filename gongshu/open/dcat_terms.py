"""The vocabulary of the DCAT-AP 3 catalogue (:mod:`gongshu.open.dcat`): namespaces, serialisations and
the mapping of national catalogue values (更新周期, 开放属性, 数据领域, formats) to the EU authority tables,
with the labels the documents carry for every controlled term they use."""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDFS, SKOS, XSD

from gongshu.catalogue.specs import OpenType, UpdateCycle

ADMS = Namespace("http://www.w3.org/ns/adms#")
CSVW = Namespace("http://www.w3.org/ns/csvw#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
#: DCAT 3 terms that rdflib's DCAT 2 namespace lacks.
DCAT_VERSION = URIRef("http://www.w3.org/ns/dcat#version")

PREFIXES: dict[str, Namespace] = {
    "adms": ADMS,
    "csvw": CSVW,
    "dcat": Namespace(str(DCAT)),
    "dcatap": DCATAP,
    "dct": Namespace(str(DCTERMS)),
    "foaf": Namespace(str(FOAF)),
    "gsp": GSP,
    "hydra": HYDRA,
    "rdfs": Namespace(str(RDFS)),
    "skos": Namespace(str(SKOS)),
    "spdx": SPDX,
    "vcard": VCARD,
    "xsd": Namespace(str(XSD)),
}

#: Datasets on one page of ``/catalog.{format}`` (ckanext-dcat's default).
DATASETS_PER_PAGE = 100
MAX_PER_PAGE = 1000

#: Serialisations: URL suffix → (rdflib format, media type).
FORMATS: dict[str, tuple[str, str]] = {
    "ttl": ("turtle", "text/turtle"),
    "jsonld": ("json-ld", "application/ld+json"),
    "xml": ("xml", "application/rdf+xml"),
}

EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"

#: 更新周期 → EU frequency authority table (http://publications.europa.eu/resource/authority/frequency).
FREQUENCY: dict[str, str] = {
    UpdateCycle.REALTIME: "CONT",
    UpdateCycle.DAILY: "DAILY",
    UpdateCycle.WEEKLY: "WEEKLY",
    UpdateCycle.MONTHLY: "MONTHLY",
    UpdateCycle.QUARTERLY: "QUARTERLY",
    UpdateCycle.YEARLY: "ANNUAL",
    UpdateCycle.IRREGULAR: "IRREG",
}
#: 开放属性 → EU access-right authority table.
ACCESS_RIGHTS: dict[str, str] = {OpenType.UNCONDITIONAL: "PUBLIC", OpenType.CONDITIONAL: "RESTRICTED"}
#: Download format → (EU file-type code, IANA media type).
FILE_TYPES: dict[str, tuple[str, str]] = {
    "csv": ("CSV", "text/csv"),
    "json": ("JSON", "application/json"),
    "xlsx": ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
#: 信息项 type (national guide) → XSD datatype of its column.
ITEM_DATATYPES = {
    "C": XSD.string,
    "N": XSD.decimal,
    "D": XSD.date,
    "T": XSD.dateTime,
    "L": XSD.boolean,
    "B": XSD.base64Binary,
}

#: Labels (en, zh) of the authority-table terms the catalogue uses.
LABELS: dict[str, tuple[str, str]] = {
    "frequency/CONT": ("continuous", "连续（实时）"),
    "frequency/DAILY": ("daily", "每日"),
    "frequency/WEEKLY": ("weekly", "每周"),
    "frequency/MONTHLY": ("monthly", "每月"),
    "frequency/QUARTERLY": ("quarterly", "每季度"),
    "frequency/ANNUAL": ("annual", "每年"),
    "frequency/IRREG": ("irregular", "不定期"),
    "access-right/PUBLIC": ("public", "公开"),
    "access-right/RESTRICTED": ("restricted", "受限"),
    "data-theme/AGRI": ("Agriculture, fisheries, forestry and food", "农业、渔业、林业和食品"),
    "data-theme/ECON": ("Economy and finance", "经济和金融"),
    "data-theme/EDUC": ("Education, culture and sport", "教育、文化和体育"),
    "data-theme/ENER": ("Energy", "能源"),
    "data-theme/ENVI": ("Environment", "环境"),
    "data-theme/GOVE": ("Government and public sector", "政府和公共部门"),
    "data-theme/HEAL": ("Health", "卫生健康"),
    "data-theme/INTR": ("International issues", "国际事务"),
    "data-theme/JUST": ("Justice, legal system and public safety", "司法、法律体系和公共安全"),
    "data-theme/OP_DATPRO": ("Provisional data", "临时数据"),
    "data-theme/REGI": ("Regions and cities", "地区和城市"),
    "data-theme/SOCI": ("Population and society", "人口与社会"),
    "data-theme/TECH": ("Science and technology", "科学和技术"),
    "data-theme/TRAN": ("Transport", "交通"),
    "file-type/CSV": ("CSV", "CSV"),
    "file-type/JSON": ("JSON", "JSON"),
    "file-type/XLSX": ("XLSX", "XLSX"),
    "language/ZHO": ("Chinese", "中文"),
    "language/ENG": ("English", "英文"),
    "planned-availability/STABLE": ("stable", "稳定"),
}
SCHEME_TITLES: dict[str, tuple[str, str]] = {
    "frequency": ("Frequency", "更新频率"),
    "access-right": ("Access right", "访问权限"),
    "data-theme": ("Data theme", "数据主题"),
    "file-type": ("File type", "文件类型"),
    "language": ("Language", "语言"),
    "planned-availability": ("Planned availability", "计划可用性"),
}
PUBLISHER_TYPES = "http://purl.org/adms/publishertype/"
LICENCE_TYPES = "http://purl.org/adms/licencetype/"
ADMS_LABELS: dict[str, tuple[str, str]] = {
    PUBLISHER_TYPES + "RegionalAuthority": ("Regional authority", "省级（直辖市）政府机构"),
    PUBLISHER_TYPES + "LocalAuthority": ("Local authority", "区县级政府机构"),
    LICENCE_TYPES + "Attribution": ("Attribution", "署名"),
    LICENCE_TYPES + "OtherRestrictiveClauses": ("Other restrictive clauses", "其他限制性条款"),
}
ADMS_SCHEMES: dict[str, tuple[str, str]] = {
    PUBLISHER_TYPES + "1.0": ("Publisher type", "发布者类型"),
    LICENCE_TYPES + "1.0": ("Licence type", "许可类型"),
}

#: The licence of unconditionally open data and of the catalogue's metadata.
OPEN_LICENCE = "https://creativecommons.org/licenses/by/4.0/"
CKAN_API_DOCS = "https://docs.ckan.org/en/2.10/api/"
CHECKSUM_SHA256 = SPDX.checksumAlgorithm_sha256

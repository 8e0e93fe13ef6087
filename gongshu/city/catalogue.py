"""Demo organisations and catalogue entries of the synthetic city (演示组织机构与资源目录).

The lead's loaders call these instead of reading paths: the YAML files ship inside the package
(``gongshu/city/data/organisations.yaml`` and ``gongshu/city/data/catalogue/*.yaml``).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

DATA = "data"


def _load(path: str) -> Any:
    text = resources.files("gongshu.city").joinpath(path).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def organisation_documents() -> list[dict[str, Any]]:
    """The demo organisations: ``{code, name, name_en, uscc, kind, parent, district}`` each."""
    docs: list[dict[str, Any]] = _load(f"{DATA}/organisations.yaml")
    return docs


def catalogue_documents() -> list[dict[str, Any]]:
    """Every demo catalogue entry (docs/catalogue-spec.md format), in file-name then file order.

    ``publish_date`` is a :class:`datetime.date`; ``source`` (when present) names the generated
    source table the entry describes, e.g. ``{department: GA, name: population, table: population}``.
    """
    folder = resources.files("gongshu.city").joinpath(f"{DATA}/catalogue")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml"))
    docs: list[dict[str, Any]] = []
    for name in names:
        docs.extend(_load(f"{DATA}/catalogue/{name}"))
    return docs


def mount_documents() -> list[dict[str, Any]]:
    """The demo city's mount specs (挂载规格), one per generated source (``data/mounts.yaml``)."""
    docs: list[dict[str, Any]] = _load(f"{DATA}/mounts.yaml")
    return docs

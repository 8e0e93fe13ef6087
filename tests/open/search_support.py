"""Open datasets without a database, for the search index's tests and its latency measurement:
the fixed corpus of ``data/search_corpus.yaml`` and a synthetic city of any size."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from gongshu.open.datasets import OpenDataset, OpenField, Publication, dataset_name

CORPUS = Path(__file__).parent / "data" / "search_corpus.yaml"
START = datetime(2024, 1, 1, tzinfo=UTC)


@cache
def corpus() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return loaded


def make_dataset(
    number: int,
    *,
    code: str,
    title: str,
    department: str,
    department_name: str,
    department_en: str = "",
    theme: str | None = None,
    tags: list[str] | None = None,
    update_cycle: str = "每月",
    open_type: str = "无条件开放",
    summary: str = "",
    items: list[str] | None = None,
    hidden_items: list[str] | None = None,
    published: bool = True,
) -> OpenDataset:
    """One open dataset's public document, as ``load_open_datasets`` would build it."""
    modified = START + timedelta(hours=number * 7 % 8760)
    fields = tuple(
        OpenField(f"f{i}", label, "C", 50, "", "一般", True) for i, label in enumerate(items or [])
    ) + tuple(
        OpenField(f"h{i}", label, "C", 50, "", "重要", False) for i, label in enumerate(hidden_items or [])
    )
    publication = None
    if published:
        files = {
            fmt: {"path": f"x.{fmt}", "bytes": 1000 + number, "rows": 10, "sha256": "0" * 64}
            for fmt in ("csv", "json", "xlsx")
        }
        publication = Publication(
            version=1,
            published_at=modified,
            rows=10,
            fields=tuple(f.name for f in fields if f.published),
            datastore="x.parquet",
            files=files,
            batch_id=None,
        )
    return OpenDataset(
        id=number,
        name=dataset_name(code),
        code=code,
        title=title,
        summary=summary,
        provider_id=abs(hash(department)) % 10_000,
        provider_code=department,
        provider_name=department_name,
        provider_name_en=department_en,
        provider_uscc=None,
        district_code="310000",
        district_name="上海市",
        theme=theme,
        tags=tuple(tags or ()),
        format="电子表格",
        format_detail=None,
        update_cycle=update_cycle,
        open_type=open_type,
        open_condition=None if open_type == "无条件开放" else "签署数据利用协议",
        publish_date=date(2024, 1, 1),
        status="published",
        version=1,
        created_at=START,
        updated_at=modified,
        fields=fields,
        publication=publication,
    )


def corpus_datasets() -> list[OpenDataset]:
    """The corpus's 200 datasets."""
    departments = corpus()["departments"]
    return [
        make_dataset(
            number,
            code=doc["code"],
            title=doc["title"],
            department=doc["department"],
            department_name=departments[doc["department"]]["name"],
            department_en=departments[doc["department"]]["name_en"],
            theme=doc["theme"],
            tags=doc["tags"],
            update_cycle=doc["update_cycle"],
            open_type=doc["open_type"],
            summary=doc["summary"],
            items=doc["items"],
        )
        for number, doc in enumerate(corpus()["datasets"], start=1)
    ]


def synthetic_datasets(count: int, *, seed: int = 6) -> list[OpenDataset]:
    """``count`` datasets recombined from the corpus's words: departments × places × subjects."""
    rng = random.Random(seed)
    docs = corpus()["datasets"]
    departments = corpus()["departments"]
    places = [
        "黄浦区",
        "徐汇区",
        "长宁区",
        "静安区",
        "普陀区",
        "虹口区",
        "杨浦区",
        "闵行区",
        "宝山区",
        "嘉定区",
        "浦东新区",
        "金山区",
        "松江区",
        "青浦区",
        "奉贤区",
        "崇明区",
    ]
    years = [str(y) for y in range(2015, 2025)]
    cycles = ["实时", "每日", "每周", "每月", "每季度", "每年", "不定期"]
    made = []
    for number in range(1, count + 1):
        base = docs[rng.randrange(len(docs))]
        other = docs[rng.randrange(len(docs))]
        place = rng.choice(places)
        title = f"{place}{rng.choice(years)}年{base['title']}"
        tags = list(base["tags"]) + rng.sample(other["tags"], k=min(1, len(other["tags"]))) + [place]
        made.append(
            make_dataset(
                number,
                code=f"{300 + number % 97:03d}{number // 97 % 1000:03d}001/{number:06d}",
                title=title,
                department=base["department"],
                department_name=departments[base["department"]]["name"],
                theme=base["theme"],
                tags=tags,
                update_cycle=rng.choice(cycles),
                open_type="有条件开放" if rng.random() < 0.2 else "无条件开放",
                summary=f"{place}{base['summary']}{other['summary'][:20]}",
                items=list(base["items"]),
                published=rng.random() < 0.8,
            )
        )
    return made

"""Small, exact sources for pipeline tests: a person entry, CSV and SQLite sources we control row by row."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from typing import Any

from gongshu.catalogue import entries
from gongshu.city.ids import id_check_char
from gongshu.collect import mounts
from gongshu.config import Settings
from gongshu.orgs.roles import SYSTEM, Principal
from gongshu.platform import Platform, open_platform
from tests.helpers import add_user, entry_doc, seed_basics

ENTRY_CODE = "301001001/000009"
HEADER = ["record_id", "id_number", "name", "sex", "birth_date", "updated"]

ITEMS = [
    {"name": "record_id", "label": "记录号", "type": "C", "length": 20, "element": "DE0906", "grade": "一般"},
    {
        "name": "id_number",
        "label": "公民身份号码",
        "type": "C",
        "length": 18,
        "element": "DE0101",
        "grade": "核心",
    },
    {"name": "name", "label": "姓名", "type": "C", "length": 50, "element": "DE0102", "grade": "重要"},
    {"name": "sex", "label": "性别代码", "type": "C", "length": 1, "element": "DE0103", "grade": "一般"},
    {"name": "birth_date", "label": "出生日期", "type": "D", "element": "DE0104", "grade": "重要"},
    {"name": "updated", "label": "更新时间", "type": "T", "element": "DE0902", "grade": "一般"},
]


def person_id(n: int, birth: str = "19800101") -> str:
    """A valid 18-digit ID number of a 黄浦区 resident (order code from n)."""
    first17 = f"310101{birth}{n % 1000:03d}"
    return first17 + id_check_char(first17)


def person(
    n: int, *, name: str | None = None, bad_id: bool = False, updated: str = "2026-01-01 08:00:00"
) -> list[str]:
    number = person_id(n)
    if bad_id:
        number = number[:-1] + ("0" if number[-1] != "0" else "1")
    return [
        f"R{n:06d}",
        number,
        f"张{n}" if name is None else name,
        "1" if n % 2 else "2",
        "1980-01-01",
        updated,
    ]


def write_csv(
    path: Path, rows: list[list[str]], *, encoding: str = "utf-8", header: list[str] = HEADER
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_sqlite(path: Path, rows: list[list[str]], *, replace: bool = True) -> Path:
    con = sqlite3.connect(path)
    if replace:
        con.execute("DROP TABLE IF EXISTS people")
        con.execute(f"CREATE TABLE people ({', '.join(f'{c} TEXT' for c in HEADER)})")
    con.executemany(f"INSERT INTO people VALUES ({', '.join('?' for _ in HEADER)})", rows)
    con.commit()
    con.close()
    return path


class Setup:
    """A platform with the test organisations, one published person entry and its steward."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.platform: Platform = open_platform(Settings(data_dir=data_dir, demo=True), migrate=True)
        with self.platform.store.session() as session:
            self.people = seed_basics(session)
            self.steward: Principal = add_user(session, "ga_admin", org="GA", roles=["steward"])
            self.other: Principal = add_user(session, "mz_admin", org="MZ", roles=["steward"])
            spec = entries.parse_spec(entry_doc(code=ENTRY_CODE, items=ITEMS))
            entries.create_entry(session, SYSTEM, spec)
            entries.transition(session, SYSTEM, ENTRY_CODE, "submit")
            entries.transition(session, SYSTEM, ENTRY_CODE, "publish")

    def mount(self, name: str, source: dict[str, Any], **extra: Any) -> None:
        document: dict[str, Any] = {
            "name": name,
            "entry": ENTRY_CODE,
            "source": source,
            "columns": {c: c for c in HEADER} | {"name": {"source": "name", "required": True}},
            "key": ["record_id"],
        } | extra
        with self.platform.store.session() as session:
            mounts.create_mount(session, self.steward, mounts.parse_mount_spec(document))

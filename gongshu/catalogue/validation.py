"""Validation of catalogue entries: every problem at once, keyed by field path.

Each message is Chinese first (for the department steward who fixes it) with the English after.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue.models import DataElement
from gongshu.catalogue.specs import (
    GRADE_ORDER,
    ITEM_TYPES,
    EntrySpec,
    Grade,
    ItemSpec,
    OpenType,
    ResourceFormat,
    ShareMethod,
    ShareType,
    Theme,
    UpdateCycle,
)
from gongshu.orgs.models import Division, Organisation

Problems = dict[str, list[str]]
_Add = Callable[[str, str], None]
ITEM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _choices(enum: Iterable[str]) -> str:
    return "/".join(enum)


def validate_entry(session: Session, spec: EntrySpec, *, code_pattern: str) -> Problems:
    """Check a spec against the catalogue rules and the store's reference data.

    Example::

        problems = validate_entry(session, spec, code_pattern=settings.resource_code_pattern)
        # {"share_basis": ["不予共享须填写法律法规依据 (a legal basis is required ...)"]}
    """
    problems: Problems = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    _check_identity(session, spec, re.compile(code_pattern), add)
    _check_share(spec, add)
    _check_open(spec, add)
    _check_items(session, spec, add)
    return problems


def _check_identity(session: Session, spec: EntrySpec, pattern: re.Pattern[str], add: _Add) -> None:
    if not pattern.match(spec.code):
        add(
            "code", f"资源代码格式应为 前段码/后段码，如 301001001/000001 (code must match {pattern.pattern})"
        )
    if not spec.name.strip():
        add("name", "资源名称不能为空 (name is required)")
    elif len(spec.name) > 200:
        add("name", "资源名称不超过 200 字 (at most 200 characters)")
    if not spec.summary.strip():
        add("summary", "摘要不能为空 (summary is required)")
    if not session.scalar(sa.select(Organisation.id).where(Organisation.code == spec.provider)):
        add("provider", f"未知的提供方代码 {spec.provider} (unknown provider organisation)")
    if spec.district is not None and session.get(Division, spec.district) is None:
        add("district", f"未知的行政区划代码 {spec.district} (unknown division code)")
    if spec.format not in set(ResourceFormat):
        add("format", f"格式应为 {_choices(ResourceFormat)} (unknown format)")
    if spec.update_cycle not in set(UpdateCycle):
        add("update_cycle", f"更新周期应为 {_choices(UpdateCycle)} (unknown update cycle)")
    if spec.theme is not None and spec.theme not in set(Theme):
        add("theme", f"数据领域应为 {_choices(Theme)} (unknown theme)")
    for index, related in enumerate(spec.related_codes):
        if not pattern.match(related):
            add(f"related_codes[{index}]", f"关联资源代码 {related} 格式不正确 (malformed code)")
        elif related == spec.code:
            add(f"related_codes[{index}]", "不能关联自身 (an entry cannot relate to itself)")


def _check_share(spec: EntrySpec, add: _Add) -> None:
    if spec.share_type not in set(ShareType):
        add("share_type", f"共享类型应为 {_choices(ShareType)} (unknown share type)")
        return
    if spec.share_type == ShareType.CONDITIONAL and not (spec.share_condition or "").strip():
        add("share_condition", "有条件共享须填写共享条件 (a condition is required for 有条件共享)")
    if spec.share_type == ShareType.NOT_SHARED:
        if not (spec.share_basis or "").strip():
            add("share_basis", "不予共享须填写法律法规依据 (a legal basis is required for 不予共享)")
        if spec.share_methods:
            add("share_methods", "不予共享的资源不设共享方式 (不予共享 entries have no share method)")
        return
    if not spec.share_methods:
        add("share_methods", f"须选择共享方式 {_choices(ShareMethod)} (at least one share method)")
    for index, method in enumerate(spec.share_methods):
        if method not in set(ShareMethod):
            add(f"share_methods[{index}]", f"共享方式应为 {_choices(ShareMethod)} (unknown method)")


def _check_open(spec: EntrySpec, add: _Add) -> None:
    if spec.open_type not in set(OpenType):
        add("open_type", f"开放属性应为 {_choices(OpenType)} (unknown open type)")
    elif spec.open_type == OpenType.CONDITIONAL and not (spec.open_condition or "").strip():
        add("open_condition", "有条件开放须填写开放条件 (a condition is required for 有条件开放)")
    elif spec.open_type == OpenType.NOT_OPEN and not (spec.open_basis or "").strip():
        add("open_basis", "不予开放须填写依据 (a basis is required for 不予开放)")


def _check_items(session: Session, spec: EntrySpec, add: _Add) -> None:
    if not spec.items:
        add("items", "至少需要一个信息项 (at least one data item)")
        return
    known = set(session.scalars(sa.select(DataElement.code).where(DataElement.active.is_(True))))
    seen: set[str] = set()
    for index, item in enumerate(spec.items):
        _check_item(item, f"items[{index}]", known, seen, spec.open_type, add)


def _check_item(item: ItemSpec, at: str, known: set[str], seen: set[str], open_type: str, add: _Add) -> None:
    if not ITEM_NAME.match(item.name):
        add(
            f"{at}.name", f"信息项标识 {item.name!r} 应为小写字母开头的字母、数字、下划线 (^[a-z][a-z0-9_]*$)"
        )
    elif item.name in seen:
        add(f"{at}.name", f"信息项标识 {item.name} 重复 (duplicate item name)")
    seen.add(item.name)
    if not item.label.strip():
        add(f"{at}.label", "信息项名称不能为空 (label is required)")
    if item.type not in ITEM_TYPES:
        add(f"{at}.type", f"数据类型应为 {_choices(ITEM_TYPES)} (unknown type)")
    elif item.type in {"C", "N"} and (item.length is None or item.length <= 0):
        add(f"{at}.length", "字符型和数值型须填写正整数长度 (a positive length is required)")
    if item.element not in known:
        add(f"{at}.element", f"未知的数据元 {item.element} (unknown data element)")
    if item.grade not in set(Grade):
        add(f"{at}.grade", f"安全级别应为 {_choices(Grade)} (unknown security grade)")
    elif open_type == OpenType.UNCONDITIONAL and GRADE_ORDER[Grade(item.grade)] > 0:
        add(
            f"{at}.grade",
            f"{item.grade}级信息项不能无条件开放 (an item graded above 一般 cannot be 无条件开放)",
        )

"""What cleansing is told (绑定、规则) and what it reports (检查): the public value types.

* :class:`ColumnBinding` — one output column (信息项) bound to a raw source column and a data
  element (数据元); the collect pipeline builds these from a catalogue entry and a mount.
* :class:`Rule` — one standardisation / cleansing rule as declared in ``data/rules.yaml``.
* :class:`TableRule` — a rule over several columns of one table (ADDRESS_DISTRICT, COORD_DISTRICT).
* :class:`Check` — one failure check a plan carries: rule, column, severity and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["blocking", "warning"]
ITEM_TYPES = ("C", "N", "D", "T", "L", "B")


@dataclass(frozen=True)
class ColumnBinding:
    """One standardised output column: a 信息项 bound to a raw column and a 数据元.

    ``rules`` replaces the element's default rules when given; entries written ``"+ID"`` add a rule
    to the defaults and ``"-ID"`` remove one (mandatory rules such as TEXT_CLEAN always apply).

    Example::

        ColumnBinding("id_number", "公民身份号码", "DE0101", "C", 18, required=True)
        ColumnBinding("sex", "性别", "DE0103", "C", 1, rules=("+CODE_SYNONYMS",))
    """

    name: str
    source: str | None
    element: str
    type: str
    length: int | None = None
    required: bool = False
    rules: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Check:
    """A failure check of a plan: TRUE for a row when ``column`` fails rule ``rule_id``."""

    rule_id: str
    column: str
    severity: Severity
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class TableRule:
    """A table rule applied to named columns, e.g. ``TableRule("COORD_DISTRICT", {"lon": "x", ...})``.

    Roles: ADDRESS_DISTRICT ``address`` (DE0301) and optionally ``district`` (DE0302);
    COORD_DISTRICT ``lon`` (DE0304), ``lat`` (DE0305) and ``district`` (DE0302).
    """

    rule_id: str
    columns: Mapping[str, str] = field(default_factory=dict)


class TextProfile(BaseModel):
    """How TEXT_CLEAN treats a column (see ``text_profiles`` in ``data/rules.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ascii: bool = Field(description="values are expected to be ASCII: a byte-length test finds clean ones")
    multibyte: int = Field(default=0, description="extra UTF-8 bytes a clean value carries")
    spaces: Literal["trim", "remove", "collapse"] = "trim"
    upper: str = Field(default="never", description="never | always | lower-case letters to look for")
    fullwidth: str = Field(
        default="all",
        description="full-width forms made half-width: all, alnum (letters, digits) or the ASCII ones listed",
    )


class Rule(BaseModel):
    """One rule as declared in ``data/rules.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    name_zh: str
    name_en: str
    kind: str = Field(description="the compiler that turns the rule into SQL (kinds.py)")
    severity: Severity | None = Field(default=None, description="None: a standardisation step only")
    elements: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    default: bool = Field(default=True, description="applies without being listed by a binding")
    mandatory: bool = Field(default=False, description="applies even when a binding lists its rules")
    table: bool = Field(default=False, description="a table rule over several columns")
    reason_zh: str = ""
    reason_en: str = ""
    description: str = ""
    params: dict[str, Any] = Field(default_factory=dict)

    def binds(self, element: str, item_type: str) -> bool:
        """True when the rule applies to a column of this element and type by default."""
        if element in self.params.get("skip_elements", ()):
            return False
        return element in self.elements or item_type in self.types

    def summary(self) -> dict[str, Any]:
        """The rule as docs, CLI and pages list it."""
        return {
            "id": self.id,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "severity": self.severity,
            "elements": list(self.elements),
            "types": list(self.types),
            "default": self.default,
            "table": self.table,
            "reason_zh": self.reason_zh,
            "reason_en": self.reason_en,
            "description": self.description,
        }

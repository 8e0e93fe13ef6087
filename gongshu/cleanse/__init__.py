"""Cleanse and standardise (清洗、标准化): rules bound to data elements, compiled to set-based SQL.

Step 3 of the data's journey. Rules are data (``data/rules.yaml``); :func:`plan_table` compiles a
table's bindings (信息项 → raw column + 数据元) into sqlglot expression trees that run the same on
DuckDB and Spark SQL: one ``SELECT`` that standardises every column and one boolean per check that
says which rows fail (problem data 问题数据 for blocking checks). See ``docs/cleanse.md``.
"""

from __future__ import annotations

from gongshu.cleanse.plan import CleansePlan, arrow_type, flag_name, plan_table
from gongshu.cleanse.rules import RuleSet, load_ruleset, parse_ruleset
from gongshu.cleanse.specs import Check, ColumnBinding, Rule, TableRule

# The synthetic city's defect kinds (docs/city.md) and the rule that catches each one.
# duplicate_key is the collect pipeline's PK_DUPLICATE, not a cleansing rule.
DEFECT_RULES: dict[str, str] = {
    "id_check_digit": "ID_CHECK",
    "id_birth_date": "ID_BIRTH_DATE",
    "id_area_code": "ID_AREA_CODE",
    "uscc_check_char": "USCC_CHECK",
    "vin_check_digit": "VIN_CHECK",
    "date_unparseable": "DATE_PARSE",
    "code_unknown": "CODE_UNKNOWN",
    "phone_invalid": "PHONE_FORMAT",
    "required_missing": "REQUIRED",
    "coord_outside_district": "COORD_DISTRICT",
}

__all__ = [
    "DEFECT_RULES",
    "Check",
    "CleansePlan",
    "ColumnBinding",
    "Rule",
    "RuleSet",
    "TableRule",
    "arrow_type",
    "flag_name",
    "load_ruleset",
    "parse_ruleset",
    "plan_table",
]

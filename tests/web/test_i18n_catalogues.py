"""The message catalogues: the same keys in every language, and every key a template uses exists."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from gongshu.catalogue.specs import (
    ITEM_TYPES,
    Grade,
    OpenType,
    ResourceFormat,
    ShareMethod,
    ShareType,
    UpdateCycle,
)
from gongshu.web import i18n

TEMPLATES = Path(str(resources.files("gongshu.web").joinpath("templates")))
LITERAL_KEY = re.compile(r"\bt\('([^']+)'")
#: Keys built in templates from a prefix and a value: prefix → every value it can take.
DYNAMIC = {
    "error.": [
        f"{s}.{part}"
        for s in (400, 401, 403, 404, 405, 409, 422, 500, 503, "other")
        for part in ("title", "explain")
    ],
    "facet.": ["provider", "district", "share_type", "open_type", "update_cycle", "format", "status"],
    "kind.": ["center", "department", "district"],
    "change.": ["create", "update", "submit", "return", "publish", "mount", "revoke"],
    "action.": ["submit", "return", "publish", "revoke"],
    "token.state_": ["active", "revoked", "expired"],
    "field.": [
        "code",
        "name",
        "provider",
        "district",
        "summary",
        "format",
        "format_detail",
        "share_type",
        "share_condition",
        "share_basis",
        "open_type",
        "open_condition",
        "open_basis",
        "update_cycle",
        "publish_date",
    ],
}


def test_every_language_has_the_same_keys() -> None:
    zh, en = (set(i18n.catalogue(lang)) for lang in i18n.LANGUAGES)
    assert zh - en == set()
    assert en - zh == set()
    assert all(i18n.catalogue("en").values())
    assert all(i18n.catalogue("zh-CN").values())


def test_every_key_used_in_templates_exists() -> None:
    keys = set(i18n.catalogue("zh-CN"))
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        for key in LITERAL_KEY.findall(template.read_text("utf-8")):
            if key in DYNAMIC:
                used.update(key + value for value in DYNAMIC[key])
            else:
                used.add(key)
    assert used, "no t('...') calls found"
    assert used - keys == set()


def test_every_dynamic_prefix_used_in_templates_is_listed_here() -> None:
    text = "".join(t.read_text("utf-8") for t in TEMPLATES.glob("*.html"))
    prefixes = set(re.findall(r"\bt\('([^']+)' ~", text))
    assert prefixes <= set(DYNAMIC)


def test_chinese_enumerations_have_an_english_gloss() -> None:
    values = [
        *ShareType,
        *OpenType,
        *ShareMethod,
        *UpdateCycle,
        *ResourceFormat,
        *Grade,
        *ITEM_TYPES.values(),
    ]
    for value in values:
        assert i18n.gloss("zh-CN", value) == value
        english = i18n.gloss("en", value)
        assert english != value and english.isascii(), value


def test_translate_formats_values_and_falls_back() -> None:
    assert i18n.translate("en", "catalog.found", total=3) == "3 resources"
    assert i18n.translate("zh-CN", "catalog.found", total=3) == "共 3 条资源"
    assert i18n.translate("en", "no.such.key") == "no.such.key"

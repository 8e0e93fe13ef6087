"""Languages of the pages: zh-CN (the default) and en, from JSON message catalogues.

Every visible string of a template comes from ``locales/<lang>.json`` through ``t(key)``. The
language is chosen by ``?lang=en|zh-CN`` (remembered in a cookie), else the cookie, else the
configured default. Values that are Chinese by definition (共享类型, 更新周期, 格式, 安全级别...)
show as they are in Chinese and with an English gloss (catalogue key ``enum.<value>``) in English.

Example::

    translate("en", "catalog.title")          # "Resource catalogue"
    gloss("en", "有条件共享")                   # "Conditional sharing"
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from starlette.requests import Request

from gongshu.catalogue.specs import STATUS_LABELS, Status
from gongshu.orgs.roles import ROLE_LABELS, Role

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
LANG_COOKIE = "gongshu_lang"
LANG_PARAM = "lang"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The message catalogue of ``lang`` (key → text)."""
    text = resources.files("gongshu.web").joinpath(f"locales/{lang}.json").read_text("utf-8")
    messages: dict[str, str] = json.loads(text)
    return messages


def translate(lang: str, key: str, **values: object) -> str:
    """The text of ``key`` in ``lang`` (falling back to zh-CN, then to the key itself)."""
    text = catalogue(lang).get(key) or catalogue(DEFAULT_LANGUAGE).get(key) or key
    return text.format(**values) if values else text


def gloss(lang: str, value: str | None) -> str:
    """A Chinese enumeration value as shown in ``lang``: itself in Chinese, its gloss in English."""
    if not value:
        return ""
    if lang == DEFAULT_LANGUAGE:
        return value
    return catalogue(lang).get(f"enum.{value}", value)


def status_label(lang: str, status: str) -> str:
    """A lifecycle status (``published``) as 已发布 / Published."""
    return _label(lang, status, STATUS_LABELS, Status)


def role_label(lang: str, role: str) -> str:
    """A role (``operator``) as 平台运营 / Platform operator."""
    return _label(lang, role, ROLE_LABELS, Role)


def _label(lang: str, value: str, labels: Mapping[Any, tuple[str, str]], enum: Callable[[str], Any]) -> str:
    try:
        zh, en = labels[enum(value)]
    except ValueError:
        return value
    return zh if lang == DEFAULT_LANGUAGE else en


def requested_language(request: Request) -> str | None:
    """The language asked for with ``?lang=``, if it is a known one."""
    value = request.query_params.get(LANG_PARAM)
    return value if value in LANGUAGES else None


def choose_language(request: Request, default: str = DEFAULT_LANGUAGE) -> str:
    """``?lang=`` wins, then the cookie, then ``default``."""
    cookie = request.cookies.get(LANG_COOKIE)
    chosen = requested_language(request) or (cookie if cookie in LANGUAGES else None)
    return chosen or (default if default in LANGUAGES else DEFAULT_LANGUAGE)

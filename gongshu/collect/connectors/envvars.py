"""``${ENV_NAME}`` references in specs (环境变量引用): secrets stay out of stored specs.

A SQL URL's password and HTTP header values may be written ``${GA_PG_PASSWORD}``; the value is
read from the environment when the connector runs and is never written back, logged, or put in an
error message.
"""

from __future__ import annotations

import os
import re

from sqlalchemy.engine import URL, make_url

from gongshu.errors import ConfigError, ValidationFailed

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def resolve(text: str, *, field: str) -> str:
    """``text`` with every ``${NAME}`` replaced by the environment variable ``NAME``.

    Example::

        >>> os.environ["GS_DEMO_TOKEN"] = "abc"
        >>> resolve("Bearer ${GS_DEMO_TOKEN}", field="headers")
        'Bearer abc'
    """

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        found = os.environ.get(name)
        if found is None:
            raise ConfigError(
                f"环境变量 {name} 未设置 / the environment variable {name} (used by {field}) is not set",
                hint=f"export {name}=... in the environment of the gongshu process",
            )
        return found

    return _REFERENCE.sub(value, text)


def parse_url(url: str) -> URL:
    """The URL parsed, with a ``${NAME}`` password resolved from the environment."""
    try:
        parsed = make_url(url)
    except Exception:  # sqlalchemy raises ArgumentError with the URL (and its password) in the text
        raise ValidationFailed(
            {"url": ["无法解析的数据库地址 / the database URL cannot be parsed"]}
        ) from None
    if parsed.password is not None:
        parsed = parsed.set(password=resolve(str(parsed.password), field="url"))
    return parsed


def mask_url(url: str) -> str:
    """``url`` with its password shown as ``***`` (safe for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"

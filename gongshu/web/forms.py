"""Form input → the library's input models, with shape errors as problems keyed by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gongshu.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


def blank_to_none(value: str | None) -> str | None:
    """Empty form fields mean "not given"."""
    return value.strip() if value and value.strip() else None


def parse_form(model: type[M], values: Mapping[str, Any]) -> M:
    """Validate form values as ``model``; problems are keyed by the form field they belong to.

    Example::

        parse_form(OrganisationCreate, {"code": "ga", ...})  # ValidationFailed({"code": [...]})
    """
    try:
        return model.model_validate(dict(values))
    except ValidationError as error:
        raise ValidationFailed.from_issues(error.errors()) from None

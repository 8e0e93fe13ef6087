"""Imports every domain package's tables so that ``Base.metadata`` knows the whole schema.

A new domain package with tables adds its ``models`` module here (and a migration).
"""

from __future__ import annotations

import gongshu.catalogue.models
import gongshu.collect.models
import gongshu.open.models
import gongshu.orgs.models
import gongshu.quality.models
import gongshu.security.models
import gongshu.share.models  # noqa: F401
from gongshu.store.base import Base

metadata = Base.metadata

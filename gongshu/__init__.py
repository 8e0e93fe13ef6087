"""gongshu (公数): an open-source platform that runs a city's public data end to end.

The package layout follows the data's journey::

    catalogue → collect → cleanse → quality → master → share → open
    (security, lineage, operations around them; service/, web/, cli/ as thin shells)

See ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

__version__ = "0.1.0"

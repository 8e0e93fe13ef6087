"""The local query engine (本地计算引擎): DuckDB, with extensions loaded from their Python wheels.

See ADR 0003: specs are compiled with sqlglot; this package only opens and configures engines.
"""

from gongshu.engine.duck import EXTENSIONS, connect, extension_path

__all__ = ["EXTENSIONS", "connect", "extension_path"]

"""Errors of the connectors, all under :class:`gongshu.errors.GongshuError`.

- :class:`gongshu.errors.SourceUnavailable` (transient): the source did not answer — server down,
  authentication refused, timeout, a missing drop-zone directory, HTTP 5xx after retries.
- :class:`gongshu.errors.ValidationFailed`: the spec asks for something the source does not have
  (an unknown column, a cursor that is not a column).
- :class:`gongshu.errors.NotFound`: the table does not exist, or the API answered 404.
- :class:`SourceFailed` (terminal): the source answered, but not with data that can be read as
  specified — an HTTP 4xx, a page over ``max_page_bytes``, a file whose encoding is neither UTF-8
  nor GB18030, sheets or files whose headers disagree, a JSON document without a records array.
"""

from __future__ import annotations

from gongshu.errors import GongshuError


class SourceFailed(GongshuError):
    """The source answered, but its answer cannot be read as the spec says; retrying will not help."""

    code = "source_failed"
    http_status = 502
    exit_code = 9

"""Running a benchmark's side in a fresh process and reading what it cost.

Every ``gongshu bench`` command measures gongshu and its baseline or peers each in its own spawned
process, so none inherits another's memory, threads or imported modules, and peak RSS is per side.
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from typing import Any


def in_child(target: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``target(*args)`` in a fresh spawned process and return its result."""
    pool = multiprocessing.get_context("spawn").Pool(1)
    try:
        result: dict[str, Any] = pool.apply(target, args)
    finally:  # let the worker exit on its own: terminating it leaks semaphores some libraries create
        pool.close()
        pool.join()
    return result


def usage() -> tuple[float, float]:
    """(CPU seconds of every thread of this process, its peak RSS in MB)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_maxrss / 1024

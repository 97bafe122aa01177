"""Bounded parallel work for downloads and uploads: every call runs, the first error stops the rest."""

from __future__ import annotations

import concurrent.futures
from typing import Callable, Iterable


def each(jobs: int, work: Callable[..., None], calls: Iterable[tuple]) -> None:
    """work(*args) for each args in calls on `jobs` threads; the first exception cancels what has
    not started yet and is raised (KeyboardInterrupt included)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(work, *args) for args in calls]
        try:
            for future in concurrent.futures.as_completed(futures):
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise

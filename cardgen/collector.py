"""The cycle collector's thresholds while cardgen works."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

RARE_THRESHOLDS = (50_000, 20, 100)


@contextlib.contextmanager
def rare_collections() -> Iterator[None]:
    """A build makes millions of short-lived acyclic objects: with the default thresholds
    the cycle collector runs thousands of times for nothing (about 7% of a build)."""
    old = gc.get_threshold()
    gc.set_threshold(*RARE_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*old)

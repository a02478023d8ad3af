"""Module-level helpers pickled into test models by reference (the serving process imports them)."""

from __future__ import annotations

import time


def slow_identity(x):
    """A preprocessing step that costs 15 ms per call: a model with injected latency."""
    time.sleep(0.015)
    return x

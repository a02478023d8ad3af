"""The ``mlops`` command line: pipelines as code, runs and delivery from a terminal or CI.

A client of the HTTP API only (no Django import), so it installs and starts fast.
"""

from .main import main

__all__ = ["main"]

"""Where estimators' own parallelism runs: in the worker process, or on a Dask cluster.

With ``TRAINING_BACKEND=dask://host:port`` every step (and every tuning trial) runs
inside ``joblib.parallel_config(backend="dask")``: scikit-learn estimators whose
``n_jobs`` is left unset (graphs cannot set it) and ``model.tune``'s in-step search
spread their work over the cluster's workers through joblib's Dask backend. The
Celery fan-out of trials is unchanged. Unset, steps run as before, in-process.
Each worker process connects once, on its first step (after Celery forked it).
"""

from __future__ import annotations

import contextlib
import functools
from contextlib import AbstractContextManager

from django.conf import settings

CONNECT_TIMEOUT = "10s"


def dask_address(backend: str) -> str | None:
    """``dask://host:port`` → ``tcp://host:port``; None for an empty setting."""
    if not backend:
        return None
    return "tcp://" + backend.removeprefix("dask://")


@functools.cache
def _client(address: str):
    from distributed import Client

    # set_as_default=False: only the joblib backend below uses it, never dask's global scheduler.
    return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)


def training_backend() -> AbstractContextManager:
    """The joblib backend a step's training runs in (see the module docstring).

    Raises ``OSError`` when the cluster cannot be reached; the executor enters it
    inside the step, so that becomes the step's error.
    """
    address = dask_address(settings.TRAINING_BACKEND)
    if address is None:
        return contextlib.nullcontext()
    import joblib

    client = _client(address)
    return joblib.parallel_config(backend="dask", scheduler_host=client.scheduler.address)

"""What only workers know, for Prometheus to scrape from each worker.

``GET /metrics`` on the web process counts runs and steps by status and the
queues' lengths from the database and Redis. How long a block took, whether a
step's result came from the cache, and how many artifact bytes moved are known
only in the processes that ran the tasks; this module counts them there:

- ``mlops_worker_step_seconds{block, status}``: a histogram of executed steps'
  durations by block key (``status`` succeeded or failed);
- ``mlops_worker_step_cache_lookups_total{result}``: steps whose result was
  looked up in the cache as a worker moved a run forward, ``hit`` or ``miss``
  (the steps a run can take from the cache when it starts are decided in the web
  process, which does not serve these; their ``cache_hit`` is on each step);
- ``mlops_worker_artifact_bytes_total{direction, source}``: artifact bytes
  ``written`` to the store, and ``read`` from the ``store`` or from this
  machine's ``cache`` of a remote store;
- ``mlops_worker_artifact_reads_total{source}``: artifacts read, by the same
  ``source`` (with a remote store: the local cache's hits and misses).

Off unless ``WORKER_METRICS_PORT`` is set. Why prometheus-client's multiprocess
mode rather than a port per process: a Celery worker runs tasks in prefork
children, which cannot share one port, are replaced now and then (a crash,
``--max-tasks-per-child``), and whose number a scraper cannot know. In
multiprocess mode every process keeps its values in memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR``; the worker's main process serves their sum on
``WORKER_METRICS_PORT`` (``/metrics``, plain HTTP: point the scraper at the
worker's own address). A replaced child's files stay, so counters never go
back. The folder must be known before prometheus_client is imported (its
values pick their storage then): ``mlops_studio.celery`` makes one per worker
when it is loaded by ``celery worker``; a folder named in the environment is
emptied as the worker starts, since an earlier worker's files would be summed
too. One folder per worker process tree; never share one between workers.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server

logger = logging.getLogger(__name__)

PORT_VARIABLE = "WORKER_METRICS_PORT"
FOLDER_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Steps run from milliseconds (a cached column pick) to hours (a search over large data).
STEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, float("inf"))

STEP_SECONDS = Histogram(
    "mlops_worker_step_seconds", "Time an executed step took, by block key", ["block", "status"],
    buckets=STEP_BUCKETS,
)
CACHE_LOOKUPS = Counter(
    "mlops_worker_step_cache_lookups", "Steps looked up in the cache as a worker moved a run forward", ["result"]
)
ARTIFACT_BYTES = Counter(
    "mlops_worker_artifact_bytes", "Artifact bytes written to the store or read (from the store or the local cache)",
    ["direction", "source"],
)
ARTIFACT_READS = Counter(
    "mlops_worker_artifact_reads", "Artifacts read, from the store or this machine's cache of it", ["source"]
)


def step_observed(*, block: str, ok: bool, seconds: float) -> None:
    STEP_SECONDS.labels(block=block, status="succeeded" if ok else "failed").observe(seconds)


def cache_looked_up(*, hits: int, misses: int) -> None:
    if hits:
        CACHE_LOOKUPS.labels(result="hit").inc(hits)
    if misses:
        CACHE_LOOKUPS.labels(result="miss").inc(misses)


class ArtifactMeter:
    """Counts what an ``ArtifactStore`` moves (its ``meter``)."""

    def read(self, nbytes: int, *, source: str) -> None:
        ARTIFACT_READS.labels(source=source).inc()
        ARTIFACT_BYTES.labels(direction="read", source=source).inc(nbytes)

    def written(self, nbytes: int) -> None:
        ARTIFACT_BYTES.labels(direction="written", source="store").inc(nbytes)


ARTIFACT_METER = ArtifactMeter()


# --- serving (the worker's main process) ------------------------------------


def port() -> int | None:
    """The port from ``WORKER_METRICS_PORT``, None when unset; SystemExit naming a bad value."""
    raw = os.environ.get(PORT_VARIABLE, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SystemExit(f"{PORT_VARIABLE} must be a TCP port number (1-65535), not {raw!r}")
    return int(raw)


def empty_folder() -> None:
    """Remove an earlier worker's value files (the worker is starting: no child has written yet)."""
    for path in Path(os.environ[FOLDER_VARIABLE]).glob("*.db"):
        path.unlink(missing_ok=True)


def serve(listen_port: int) -> None:
    """Serve the sum of this worker's processes on ``listen_port`` (a daemon thread)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(listen_port, addr=os.environ.get("WORKER_METRICS_ADDR", "0.0.0.0"), registry=registry)
    logger.info("worker metrics on port %s (from %s)", listen_port, os.environ[FOLDER_VARIABLE])


def process_exited(pid: int) -> None:
    """A pool child is gone: its live gauges no longer count (counters and histograms stay)."""
    multiprocess.mark_process_dead(pid)

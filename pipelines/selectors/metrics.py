"""What ``GET /metrics`` reports, computed when it is scraped.

Why at scrape time rather than prometheus_client's multiprocess mode: serving
runs in several uvicorn/gunicorn processes, often on several machines, and
multiprocess mode only sums the processes of one machine (through mmap files
that must be cleaned when a process dies). Every prediction already passes
through the log stream, so the drainer keeps per-deployment counters in Redis
(``services.prediction_logs._counters_add``: requests, errors, rows, latency
histogram) in the same transaction that acknowledges the batch; a scrape reads
them with one pipeline, whichever process answers it, and the serving processes
pay nothing per request. Without Redis (``make run``) the same numbers come
from one aggregate query over ``PredictionLog``. Runs and steps by status are
one grouped count each; queue lengths are ``LLEN`` of Celery's queues and the
backlog of the log stream. Counters lag the predictions by a drain interval
(about a second), well under any scrape interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q, Sum

from ..models import Deployment, PredictionLog, Run, StepRun
from ..models.run import RunStatus, StepStatus
from ..services.prediction_logs import (
    COUNTERS_IDS,
    COUNTERS_PREFIX,
    LATENCY_BUCKETS_MS,
    prediction_log_backlog,
    redis_client,
)

# Celery's queues (DESIGN: steps, trials, monitor, control; "celery" is the default).
QUEUES = ("celery", "steps", "trials", "monitor", "control")
_PRIORITY_SEP = "\x06\x16"


@dataclass
class DeploymentTraffic:
    name: str
    requests: int = 0
    errors: int = 0
    rows: int = 0
    latency_sum_ms: float = 0.0
    # Cumulative counts per LATENCY_BUCKETS_MS upper bound (then +Inf = requests).
    buckets: list[int] = field(default_factory=list)


def deployment_traffic_totals() -> list[DeploymentTraffic]:
    names = dict(Deployment.objects.values_list("pk", "name"))
    if settings.REDIS_URL:
        return _from_redis(names)
    return _from_database(names)


def _from_redis(names: dict[int, str]) -> list[DeploymentTraffic]:
    client = redis_client()
    ids = sorted(int(i) for i in client.smembers(COUNTERS_IDS))
    pipe = client.pipeline(transaction=False)
    for i in ids:
        pipe.hgetall(f"{COUNTERS_PREFIX}{i}")
    out = []
    for deployment_id, raw in zip(ids, pipe.execute(), strict=True):
        if deployment_id not in names:
            continue  # deleted
        values = {k.decode(): v for k, v in raw.items()}
        running, buckets = 0, []
        for index in range(len(LATENCY_BUCKETS_MS)):
            running += int(values.get(f"b{index}", 0))
            buckets.append(running)
        out.append(DeploymentTraffic(
            name=names[deployment_id], requests=int(values.get("requests", 0)),
            errors=int(values.get("errors", 0)), rows=int(values.get("rows", 0)),
            latency_sum_ms=float(values.get("latency_sum_ms", 0.0)), buckets=buckets,
        ))
    return out


def _from_database(names: dict[int, str]) -> list[DeploymentTraffic]:
    bucket_counts = {
        f"b{i}": Count("id", filter=Q(latency_ms__lte=bound)) for i, bound in enumerate(LATENCY_BUCKETS_MS)
    }
    rows = PredictionLog.objects.values("deployment_id").annotate(
        requests=Count("id"), errors=Count("id", filter=Q(status__gte=400)),
        rows=Sum("n_rows", filter=Q(status__lt=400)), latency_sum=Sum("latency_ms"), **bucket_counts,
    ).order_by("deployment_id")
    return [
        DeploymentTraffic(
            name=names[r["deployment_id"]], requests=r["requests"], errors=r["errors"], rows=r["rows"] or 0,
            latency_sum_ms=r["latency_sum"] or 0.0,
            buckets=[r[f"b{i}"] for i in range(len(LATENCY_BUCKETS_MS))],
        )
        for r in rows
        if r["deployment_id"] in names
    ]


def runs_by_status() -> dict[str, int]:
    counts = dict(Run.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in RunStatus.values}


def steps_by_status() -> dict[str, int]:
    counts = dict(StepRun.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in StepStatus.values}


def queue_lengths() -> dict[str, int]:
    """Messages waiting per Celery queue (Redis broker only; empty otherwise)."""
    if not settings.REDIS_URL:
        return {}
    client = redis_client()
    pipe = client.pipeline(transaction=False)
    for queue in QUEUES:
        pipe.llen(queue)
        for priority in (3, 6, 9):  # kombu keeps a list per priority step
            pipe.llen(f"{queue}{_PRIORITY_SEP}{priority}")
    lengths = pipe.execute()
    return {queue: sum(lengths[i * 4:(i + 1) * 4]) for i, queue in enumerate(QUEUES)}


def log_backlog() -> dict[str, int]:
    return prediction_log_backlog()

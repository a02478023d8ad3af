"""Read queries for monitoring: a window's logged rows, its system figures, stored windows.

``prediction_window_frame`` is the one place that reads logged inputs: from the
Parquet copy of the logs (``serving.columnar``) when it holds every row the
database logged in the window, else by decoding the logs' JSON.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection
from django.db.models import Count, Exists, OuterRef, QuerySet, Sum

from ..access import workspace_ids_for
from ..models import Deployment, MonitoringReference, MonitoringWindow, PredictionLog
from ..services.artifacts import artifact_store
from ..serving import columnar

logger = logging.getLogger(__name__)

REQUEST_ID, ROW, PREDICTION = "_request_id", "_row", "_prediction"  # bookkeeping columns of a window frame
SAMPLE_SEED = 0


def _served(deployment: Deployment, start: datetime, end: datetime) -> QuerySet[PredictionLog]:
    """Requests answered (status < 400) in [start, end)."""
    return PredictionLog.objects.filter(
        deployment=deployment, created_at__gte=start, created_at__lt=end, status__lt=400
    )


def prediction_window_frame(deployment: Deployment, start: datetime, end: datetime, limit: int) -> pd.DataFrame:
    """The rows predicted in [start, end), sampled to at most ``limit`` rows with a fixed seed.

    One row per predicted input row: the feature columns as sent, plus ``_request_id``,
    ``_row`` (its position in the request) and ``_prediction``. ``frame.attrs``:
    ``n_rows`` (rows predicted before sampling) and ``present`` (the columns any
    sampled request sent). Requests are sampled first, then rows down to ``limit``.

    Read from the Parquet copy when it covers the window: it does whenever the logs
    were written by the drainer or the in-process writer, which write it first. A
    finished hour is one compacted file (``serving.compaction``): a few files, the
    needed columns, row groups outside the window skipped. Rows stored some other way
    (an import, a copy that lost a file) leave it short, and the window is read from
    the logs' JSON instead, decoding about ``limit`` requests (logged as a warning).
    """
    expected = _served(deployment, start, end).aggregate(rows=Sum("n_rows"))["rows"] or 0
    if expected:
        frame = _window_from_parquet(deployment, start, end, limit, expected)
        if frame is not None:
            return frame
    return _window_from_json(deployment, start, end, limit)


def _parquet_short(deployment: Deployment, start: datetime, end: datetime, found: int, expected: int) -> None:
    logger.warning(
        "the Parquet copy of deployment %s holds %d of the %d rows predicted in [%s, %s): "
        "the window is read from the logs' JSON", deployment.pk, found, expected, start.isoformat(), end.isoformat(),
    )


def _sample_requests(counts: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Positions (sorted) of the requests, of ``counts`` rows each, taken in a random
    order until they hold at least ``limit`` rows; all of them when they hold fewer."""
    if int(counts.sum()) <= limit:
        return np.arange(len(counts))
    order = rng.permutation(len(counts))
    enough = int(np.searchsorted(np.cumsum(counts[order]), limit)) + 1
    return np.sort(order[:enough])


def _window_from_parquet(deployment: Deployment, start: datetime, end: datetime, limit: int,
                         expected: int) -> pd.DataFrame | None:
    """The window from the Parquet copy; None when it does not hold exactly the
    ``expected`` answered rows the database has."""
    try:
        table = columnar.frame_table(artifact_store().backend, deployment.pk, start, end,
                                     meta=("request_id", "row", "status"), outputs=("prediction",), ordered=False)
    except FileNotFoundError:  # compacted again and again while it was read (columnar.RELIST_ATTEMPTS)
        logger.warning("the Parquet copy of deployment %s kept changing under the reader: the window is read "
                       "from the logs' JSON", deployment.pk)
        return None
    if table is None:
        _parquet_short(deployment, start, end, 0, expected)
        return None
    table = table.filter(pc.less(table.column("status"), 400))
    if table.num_rows != expected:
        _parquet_short(deployment, start, end, table.num_rows, expected)
        return None
    rng = np.random.default_rng(SAMPLE_SEED)
    # Each request's rows come together, from its row 0 on.
    firsts = np.flatnonzero(table.column("row").to_numpy() == 0)
    counts = np.diff(np.append(firsts, table.num_rows))
    chosen = _sample_requests(counts, limit, rng)
    if len(chosen) < len(firsts):
        taken = np.zeros(len(firsts), dtype=bool)
        taken[chosen] = True
        table = table.filter(pa.array(np.repeat(taken, counts)))
    if table.num_rows > limit:
        table = table.take(pa.array(np.sort(rng.choice(table.num_rows, size=limit, replace=False))))
    inputs = [n for n in table.column_names if n not in columnar.META and n != "prediction"]
    frame = table.select(inputs).to_pandas().set_axis(pd.RangeIndex(table.num_rows))
    frame.columns = [columnar.input_name(n) for n in inputs]
    # A column only some requests sent is null in the others' files: present = sent by a sampled row.
    present = {str(c) for c in frame.columns if frame[c].notna().any()}
    frame = frame.drop(columns=[c for c in frame.columns if c not in present])
    frame[REQUEST_ID] = pd.Series(table.column("request_id").to_pylist(), dtype=object)
    frame[ROW] = table.column("row").to_numpy().astype("int64")
    frame[PREDICTION] = pd.Series(table.column("prediction").to_pylist() if "prediction" in table.column_names
                                  else [None] * table.num_rows, dtype=object)
    frame.attrs.update(n_rows=expected, present=present)
    return frame


def _window_from_json(deployment: Deployment, start: datetime, end: datetime, limit: int) -> pd.DataFrame:
    served = _served(deployment, start, end)
    requests = np.array(served.values_list("id", "n_rows").order_by("id"), dtype="int64").reshape(-1, 2)
    total = int(requests[:, 1].sum()) if len(requests) else 0
    rng = np.random.default_rng(SAMPLE_SEED)
    chosen = requests[_sample_requests(requests[:, 1], limit, rng), 0]
    records: list[dict] = []
    request_ids: list[str] = []
    rows: list[int] = []
    predictions: list[Any] = []
    for chunk in range(0, len(chosen), 2000):
        ids = chosen[chunk:chunk + 2000].tolist()
        for request_id, inputs, outputs in (
            PredictionLog.objects.filter(pk__in=ids).order_by("pk").values_list("request_id", "inputs", "outputs")
        ):
            inputs = inputs or []
            predicted = (outputs or {}).get("predictions") or [None] * len(inputs)
            records.extend(inputs)
            request_ids.extend([request_id] * len(inputs))
            rows.extend(range(len(inputs)))
            predictions.extend(predicted[: len(inputs)] + [None] * (len(inputs) - len(predicted)))
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    present = {str(c) for c in frame.columns}
    frame[REQUEST_ID] = pd.Series(request_ids, dtype=object)
    frame[ROW] = pd.Series(rows, dtype="int64")
    frame[PREDICTION] = pd.Series(predictions, dtype=object)
    if len(frame) > limit:
        frame = frame.iloc[np.sort(rng.choice(len(frame), size=limit, replace=False))].reset_index(drop=True)
    frame.attrs.update(n_rows=total, present=present)
    return frame


def window_labels(deployment: Deployment, start: datetime, end: datetime, limit: int) -> tuple[list, list]:
    """(ground truth, prediction) of every labelled row predicted in [start, end), at most
    ``limit`` rows (a fixed-seed sample). Late labels count here: a label belongs to the
    window of its prediction, whenever it was posted."""
    truth: list[Any] = []
    predicted: list[Any] = []
    for label, outputs in _served(deployment, start, end).filter(label__isnull=False).values_list("label", "outputs"):
        answers = (outputs or {}).get("predictions") or []
        for value, prediction in zip(label, answers, strict=False):
            if value is not None:
                truth.append(value)
                predicted.append(prediction)
    if len(truth) > limit:
        keep = np.sort(np.random.default_rng(SAMPLE_SEED).choice(len(truth), size=limit, replace=False))
        truth, predicted = [truth[i] for i in keep], [predicted[i] for i in keep]
    return truth, predicted


BUCKET_SECONDS = (60, 300, 900, 3600, 21600, 86400)  # request-count buckets: minute … day
MAX_BUCKETS = 60  # per window: an hour in minutes, a day in hours, a week in 6 hours


def request_bucket_seconds(start: datetime, end: datetime) -> int:
    """The smallest bucket of ``BUCKET_SECONDS`` that cuts [start, end) into at most ``MAX_BUCKETS``."""
    span = (end - start).total_seconds()
    return next((b for b in BUCKET_SECONDS if span / b <= MAX_BUCKETS), max(int(np.ceil(span / MAX_BUCKETS)), 1))


def window_system(deployment: Deployment, start: datetime, end: datetime) -> dict[str, Any]:
    """Requests, error rate, latency p50/p95/p99 (ms) of every request in [start, end), and
    ``requests_by``: the requests counted in fixed buckets from ``start`` (one GROUP BY)."""
    logs = PredictionLog.objects.filter(deployment=deployment, created_at__gte=start, created_at__lt=end)
    bucket = request_bucket_seconds(start, end)
    n_buckets = int(np.ceil((end - start).total_seconds() / bucket))
    counts = np.zeros(n_buckets, dtype="int64")
    if connection.vendor == "postgresql":
        table = PredictionLog._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT count(*), count(*) FILTER (WHERE status >= 400),
                       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms)
                FROM {table}
                WHERE deployment_id = %s AND created_at >= %s AND created_at < %s
                """,
                [deployment.pk, start, end],
            )
            total, errors, quantiles = cursor.fetchone()
            cursor.execute(
                f"""
                SELECT floor(extract(epoch FROM created_at - %s) / %s)::int AS bucket, count(*)
                FROM {table}
                WHERE deployment_id = %s AND created_at >= %s AND created_at < %s
                GROUP BY bucket
                """,
                [start, bucket, deployment.pk, start, end],
            )
            found = np.array(cursor.fetchall(), dtype="int64").reshape(-1, 2)
        counts[found[:, 0]] = found[:, 1]
    else:
        latencies = np.array(logs.values_list("latency_ms", flat=True), dtype="float64")
        total, errors = len(latencies), logs.filter(status__gte=400).count()
        quantiles = np.quantile(latencies, [0.5, 0.95, 0.99]).tolist() if total else None
        moments = pd.to_datetime(pd.Series(list(logs.values_list("created_at", flat=True)), dtype=object), utc=True)
        offsets = (moments - pd.Timestamp(start)).dt.total_seconds().to_numpy()
        counts = np.bincount((offsets // bucket).astype("int64"), minlength=n_buckets)[:n_buckets]
    p50, p95, p99 = [round(q, 3) for q in quantiles] if quantiles else (None, None, None)
    return {
        "requests": total,
        "error_rate": round(errors / total, 6) if total else None,
        "latency_ms": {"p50": p50, "p95": p95, "p99": p99},
        "requests_by": {"bucket_seconds": bucket, "counts": counts.tolist()},
    }


def window_model_version_id(deployment: Deployment, start: datetime, end: datetime) -> int | None:
    """The model version that answered most of [start, end)'s requests; else the one
    in effect at ``end``; else the one serving now."""
    busiest = (
        _served(deployment, start, end).exclude(model_version=None)
        .values("model_version_id").annotate(n=Count("id")).order_by("-n").first()
    )
    if busiest:
        return busiest["model_version_id"]
    revision = deployment.revisions.filter(created_at__lt=end).order_by("-number").first()
    if revision is not None:
        return revision.model_version_id
    return deployment.current_revision.model_version_id if deployment.current_revision_id else None


def deployments_with_traffic(start: datetime, end: datetime) -> list[int]:
    """Ids of the deployments with a request in [start, end): one EXISTS per deployment on the
    (deployment, -created_at) index, not a scan of every log in the span."""
    logged = PredictionLog.objects.filter(deployment=OuterRef("pk"), created_at__gte=start, created_at__lt=end)
    return list(Deployment.objects.filter(Exists(logged)).values_list("pk", flat=True).order_by("pk"))


def monitoring_reference_get(*, deployment: Deployment) -> MonitoringReference | None:
    """The deployment's chosen reference (with its dataset), or None for the default (training data)."""
    return MonitoringReference.objects.select_related("dataset").filter(deployment=deployment).first()


# --- stored windows ---------------------------------------------------------------


def monitoring_window_list(
    *, deployment: Deployment, start: datetime, end: datetime, sizes: list[str] | None = None, limit: int = 1000
) -> list[MonitoringWindow]:
    """Stored windows inside [start, end), oldest first (the latest ``limit``)."""
    windows = MonitoringWindow.objects.filter(deployment=deployment, start__gte=start, end__lte=end)
    if sizes:
        windows = windows.filter(size__in=sizes)
    return list(reversed(windows.order_by("-start", "-end")[:limit]))


def monitoring_overview(*, user) -> list[dict[str, Any]]:
    """Every deployment of the user's workspaces with its latest stored window (two queries)."""
    deployments = list(
        Deployment.objects.filter(workspace_id__in=workspace_ids_for(user))
        .select_related("workspace", "current_revision__model_version__registered_model")
        .order_by("name")
    )
    latest = _latest_windows([d.pk for d in deployments])
    return [{"deployment": d, "window": latest.get(d.pk)} for d in deployments]


def _latest_windows(deployment_ids: list[int]) -> dict[int, MonitoringWindow]:
    if not deployment_ids:
        return {}
    windows = MonitoringWindow.objects.filter(deployment_id__in=deployment_ids)
    if connection.vendor == "postgresql":
        windows = windows.order_by("deployment_id", "-end", "-start").distinct("deployment_id")
        return {w.deployment_id: w for w in windows}
    latest: dict[int, MonitoringWindow] = {}
    for window in windows.order_by("deployment_id", "-end", "-start"):
        latest.setdefault(window.deployment_id, window)
    return latest

"""A monitoring window over 100,000 and 1,000,000 logged requests: read from the
compacted Parquet copy vs from the logs' JSON.

    .venv/bin/python bench/monitor_window.py [requests, comma-separated] [rows per request]

For each size (default ``100000,1000000`` requests of 1 row) a deployment of its
own logs the requests through the writer serving uses (``prediction_records_write``:
the Parquet copy, then the PostgreSQL rows), in batches of the drainer's size, over
20 hours of a day: the window spans as many Parquet files as a drained day would.
(Above 100,000 requests the batches grow so that there are 500 of them: writing a
million requests 200 at a time takes longer than the rest of the run. The compacted
files are the same either way.)
Then, alternating (Parquet, JSON, Parquet, …), it times ``prediction_window_frame``
(the rows a window reads):

1. from the batch files as drained (``BENCH_SMALL_ROUNDS`` rounds: slow at 1M);
2. after compacting every hour (``services.log_compaction``, timed too), from the
   compacted files, with ``BENCH_ROUNDS`` rounds; then ``monitoring_report`` (the
   whole window: drift, quality, predictions, system) the same way.

"JSON" is the same function with the Parquet reader switched off, i.e. the code
before the Parquet copy was read. Medians and their ratio are printed, with the
load average (the machine is shared); both sides compute the same report
(asserted on the drift verdicts).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import setup_django  # noqa: E402

SIZES = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "100000,1000000").split(",")]
PER_REQUEST = int(sys.argv[2]) if len(sys.argv) > 2 else 1
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "11"))
SMALL_ROUNDS = int(os.environ.get("BENCH_SMALL_ROUNDS", "3"))
DAY = datetime(2026, 11, 2, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def log_requests(deployment, requests: int) -> tuple[int, int]:
    """Write ``requests`` decoded log records (what the drainer reads off the stream),
    a batch at a time; returns the rows written and the batch size."""
    from pipelines.services.artifacts import artifact_store
    from pipelines.services.prediction_logs import DRAIN_ENTRIES, prediction_records_write
    from tests.integration.monitoring_factories import FEATURES, traffic

    version = deployment.current_revision.model_version
    model = artifact_store().load(version.artifact_sha256, "object")
    spacing_us = int(timedelta(hours=20) / timedelta(microseconds=1)) // requests
    start_us = int((DAY + timedelta(hours=1) - EPOCH) / timedelta(microseconds=1))
    batch = max(DRAIN_ENTRIES, requests // 500)
    per_chunk = batch * 50
    rows = 0
    for chunk in range(0, requests, per_chunk):
        count = min(per_chunk, requests - chunk)
        frame = traffic(count * PER_REQUEST, seed=chunk + 1, shift=("a",))
        predictions = model.predict(frame[FEATURES]).tolist()
        values = frame[FEATURES].astype(object).to_numpy().tolist()
        records = []
        for i in range(count):
            first = i * PER_REQUEST
            records.append({
                "d": deployment.pk, "v": version.pk, "id": uuid.uuid4().hex, "p": "json", "s": 200, "e": "",
                "n": PER_REQUEST, "c": FEATURES, "x": values[first:first + PER_REQUEST],
                "o": {"predictions": predictions[first:first + PER_REQUEST]}, "l": 2.0 + (chunk + i) % 5,
                "t": start_us + spacing_us * (chunk + i),
            })
        for first in range(0, count, batch):
            prediction_records_write(records[first:first + batch], name=f"bench-{chunk + first}")
        rows += count * PER_REQUEST
    return rows, batch


def compared(label: str, work, rounds: int, reads) -> tuple[object, object]:
    """Time ``work`` with the Parquet reader on and off, alternating; print the medians."""
    from_parquet = reads._window_from_parquet

    def timed(parquet: bool) -> tuple[float, object]:
        reads._window_from_parquet = from_parquet if parquet else (lambda *args, **kwargs: None)
        began = time.perf_counter()
        result = work()
        return time.perf_counter() - began, result

    try:
        timed(True), timed(False)  # warm both (the reference is cached per process)
        parquet_times, json_times = [], []
        for _ in range(rounds):
            seconds, by_parquet = timed(True)
            parquet_times.append(seconds)
            seconds, by_json = timed(False)
            json_times.append(seconds)
    finally:
        reads._window_from_parquet = from_parquet
    parquet_median, json_median = statistics.median(parquet_times), statistics.median(json_times)
    print(f"  {label}: parquet median {parquet_median * 1000:.1f} ms, json median {json_median * 1000:.1f} ms, "
          f"parquet/json = {parquet_median / json_median:.2f} "
          f"(parquet {[round(t * 1000) for t in parquet_times]}, json {[round(t * 1000) for t in json_times]}); "
          f"{load()}", flush=True)
    return by_parquet, by_json


def main() -> None:
    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from pipelines.models import PredictionLogHour
    from pipelines.selectors import monitoring as reads
    from pipelines.services.artifacts import artifact_store
    from pipelines.services.log_compaction import prediction_hour_compact
    from pipelines.services.monitoring import monitoring_report
    from tests.conftest import api_client_for
    from tests.integration.monitoring_factories import deploy_monitored

    user = get_user_model().objects.create_user(username="bench", password="bench-12345")
    start, end = DAY, DAY + timedelta(days=1)
    print(f"window sample MONITORING_WINDOW_ROWS={settings.MONITORING_WINDOW_ROWS}; {load()}", flush=True)
    for requests in SIZES:
        deployment = deploy_monitored(api_client_for(user), user, name=f"bench-{requests}")
        began = time.perf_counter()
        rows, batch = log_requests(deployment, requests)
        hours = list(PredictionLogHour.objects.filter(deployment=deployment).values_list("hour", flat=True))
        store = artifact_store().backend
        files = len(store.list(f"predictions/{deployment.pk}/"))
        print(f"{requests} requests ({rows} rows) logged in {time.perf_counter() - began:.0f} s: "
              f"{files} Parquet files as drained ({batch} requests per batch)", flush=True)

        def window_frame(deployment=deployment):
            return reads.prediction_window_frame(deployment, start, end, settings.MONITORING_WINDOW_ROWS)

        def report(deployment=deployment):
            return monitoring_report(deployment=deployment, start=start, end=end)[0]

        by_parquet, by_json = compared("prediction_window_frame, drained batch files", window_frame,
                                       SMALL_ROUNDS, reads)
        assert len(by_parquet) == len(by_json) and by_parquet.attrs == by_json.attrs

        began = time.perf_counter()
        merged = sum(prediction_hour_compact(deployment_id=deployment.pk, hour=h).merged for h in hours)
        files = store.list(f"predictions/{deployment.pk}/")
        print(f"  compacted {merged} files into {len(files)} ({len(hours)} hours) in "
              f"{time.perf_counter() - began:.1f} s", flush=True)

        by_parquet, by_json = compared("prediction_window_frame, compacted", window_frame, ROUNDS, reads)
        assert len(by_parquet) == len(by_json) and by_parquet.attrs == by_json.attrs
        by_parquet, by_json = compared("monitoring_report, compacted", report, ROUNDS, reads)
        verdicts = [{f["name"]: f["drifted"] for f in r["drift"]["features"]} for r in (by_parquet, by_json)]
        assert verdicts[0] == verdicts[1] and verdicts[0]["a"], verdicts


if __name__ == "__main__":
    main()

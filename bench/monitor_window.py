"""A monitoring window over 100,000 logged rows: read from the Parquet copy vs from the logs' JSON.

    .venv/bin/python bench/monitor_window.py [rows] [rows per request]

Logs ``rows`` rows (default 100,000, 5 per request) through the writer serving
uses (``prediction_records_write``: the Parquet copy, then the PostgreSQL rows),
in batches of the drainer's size, so the window spans as many Parquet files as
a drained day would. Then it times, alternating (Parquet, JSON, Parquet, …):

- ``prediction_window_frame`` alone (the rows the window reads), and
- ``monitoring_report``: the whole window (drift, quality, predictions, system).

"JSON" is the same function with the Parquet reader switched off, i.e. the code
before the Parquet copy was read. Medians and their ratio are printed; both
sides compute the same report (asserted on the drift verdicts).
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

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
PER_REQUEST = int(sys.argv[2]) if len(sys.argv) > 2 else 5
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "11"))
DAY = datetime(2026, 11, 2, tzinfo=UTC)


def main() -> None:
    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from pipelines.selectors import monitoring as reads
    from pipelines.services.artifacts import artifact_store
    from pipelines.services.monitoring import monitoring_report
    from pipelines.services.prediction_logs import (
        DRAIN_ENTRIES,
        prediction_records_write,
        records_decode,
    )
    from pipelines.serving.logbuffer import LogEntry, record_encode
    from tests.conftest import api_client_for
    from tests.integration.monitoring_factories import FEATURES, deploy_monitored, traffic

    user = get_user_model().objects.create_user(username="bench", password="bench-12345")
    deployment = deploy_monitored(api_client_for(user), user)
    version = deployment.current_revision.model_version
    frame = traffic(ROWS, seed=1, shift=("a",))
    predictions = artifact_store().load(version.artifact_sha256, "object").predict(frame[FEATURES]).tolist()
    spacing = timedelta(hours=20) / (ROWS // PER_REQUEST)
    encoded = []
    for i, first in enumerate(range(0, ROWS, PER_REQUEST)):
        part = frame.iloc[first:first + PER_REQUEST].reset_index(drop=True)
        encoded.append(record_encode(LogEntry(
            deployment_id=deployment.pk, model_version_id=version.pk, request_id=uuid.uuid4().hex,
            protocol="json", status=200, error="", n_rows=len(part), inputs=part,
            outputs={"predictions": predictions[first:first + PER_REQUEST]}, latency_ms=2.0 + i % 5,
            created_at=DAY + timedelta(hours=1) + spacing * i,
        )))
    for first in range(0, len(encoded), DRAIN_ENTRIES):
        prediction_records_write(records_decode(encoded[first:first + DRAIN_ENTRIES]), name=f"bench-{first}")
    files = len(list(Path(settings.ARTIFACT_ROOT, "predictions").rglob("*.parquet")))
    print(f"{ROWS} rows in {len(encoded)} requests, {files} Parquet files; "
          f"window sample MONITORING_WINDOW_ROWS={settings.MONITORING_WINDOW_ROWS}", flush=True)

    start, end = DAY, DAY + timedelta(days=1)
    from_parquet = reads._window_from_parquet

    def use(parquet: bool) -> None:
        reads._window_from_parquet = from_parquet if parquet else (lambda *args, **kwargs: None)

    def timed(parquet: bool, work) -> tuple[float, object]:
        use(parquet)
        began = time.perf_counter()
        result = work()
        return time.perf_counter() - began, result

    for label, work in (
        ("prediction_window_frame", lambda: reads.prediction_window_frame(
            deployment, start, end, settings.MONITORING_WINDOW_ROWS)),
        ("monitoring_report", lambda: monitoring_report(deployment=deployment, start=start, end=end)[0]),
    ):
        timed(True, work), timed(False, work)  # warm both (the reference is cached per process)
        parquet_times, json_times = [], []
        for _ in range(ROUNDS):
            seconds, by_parquet = timed(True, work)
            parquet_times.append(seconds)
            seconds, by_json = timed(False, work)
            json_times.append(seconds)
        if label == "monitoring_report":
            verdicts = [{f["name"]: f["drifted"] for f in r["drift"]["features"]} for r in (by_parquet, by_json)]
            assert verdicts[0] == verdicts[1] and verdicts[0]["a"], verdicts
        else:
            assert len(by_parquet) == len(by_json) and by_parquet.attrs == by_json.attrs
        parquet_median, json_median = statistics.median(parquet_times), statistics.median(json_times)
        print(f"{label}: parquet median {parquet_median * 1000:.1f} ms, json median {json_median * 1000:.1f} ms, "
              f"parquet/json = {parquet_median / json_median:.2f} "
              f"(parquet {[round(t * 1000) for t in parquet_times]}, json {[round(t * 1000) for t in json_times]})",
              flush=True)
    use(True)


if __name__ == "__main__":
    main()

"""The Parquet copy of prediction logs on an S3 bucket (``ARTIFACT_STORAGE``): a batch
drained from the Redis stream lands in the bucket and is read back from there, an
hour is compacted in the bucket, and nothing is written under ARTIFACT_ROOT."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import boto3
import pandas as pd
import pytest
from django.conf import settings

from pipelines.models import PredictionLog
from pipelines.selectors.predictions import prediction_frame
from pipelines.services import prediction_logs
from pipelines.services.artifacts import artifact_store
from pipelines.services.log_compaction import prediction_hour_compact
from pipelines.services.prediction_logs import prediction_records_write, redis_client
from pipelines.serving import logstream
from pipelines.serving.logbuffer import LogEntry, prediction_log_enqueue, prediction_log_writer_stop
from pipelines.serving.state import caches_clear, served_get
from tests.integration.serving_factories import deploy_with_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def s3_store(settings, tmp_path, s3_server, s3_bucket):
    settings.ARTIFACT_STORAGE = f"s3://{s3_bucket}/artifacts"
    settings.AWS_ENDPOINT_URL = s3_server
    settings.ARTIFACT_CACHE_DIR = tmp_path / "cache"
    settings.ARTIFACT_ROOT = tmp_path / "unused-artifact-root"
    artifact_store.cache_clear()
    caches_clear()
    yield artifact_store()
    artifact_store.cache_clear()
    caches_clear()


@pytest.fixture
def private_stream(monkeypatch):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    key = f"{logstream.STREAM_KEY}:test-{os.getpid()}-{time.monotonic_ns()}"
    monkeypatch.setattr(logstream, "STREAM_KEY", key)
    monkeypatch.setattr(prediction_logs, "STREAM_KEY", key)
    monkeypatch.setattr(prediction_logs, "_group_ready", False)
    # A publisher made by an earlier test keeps that test's Redis (and its "down for 5 s"
    # state): this test's predictions get a publisher of their own.
    monkeypatch.setattr(logstream, "_publisher", None)
    from pipelines.serving import logbuffer

    monkeypatch.setattr(logbuffer, "_transport", None)  # chosen again, with Redis set
    # Playwright's sync API (the browser tests, earlier in the session) leaves an event loop
    # marked running in this thread; these predictions are sent as Django's views send
    # them, with a blocking XADD, not held for a loop that never runs again.
    monkeypatch.setattr(logstream, "_running_loop", _no_running_loop)
    yield key
    prediction_log_writer_stop()
    redis_client().delete(key)


def test_a_drained_batch_lands_in_the_bucket_and_is_read_from_there(
    owner, owner_api, s3_store, s3_server, s3_bucket, private_stream
):
    deploy_with_key(owner_api, owner, "bucketed")
    served = served_get("bucketed")
    moments = [datetime(2026, 1, 1, 10, 59, 59, 900000, tzinfo=UTC), datetime(2026, 1, 1, 11, 0, 0, 100000, tzinfo=UTC)]
    for i, moment in enumerate(moments):
        prediction_log_enqueue(LogEntry(
            deployment_id=served.deployment_id, model_version_id=served.model_version_id, request_id=f"s{i}",
            protocol="json", status=200, error="", n_rows=2,
            inputs=pd.DataFrame({"a": [1.0 * i, 10.0 * i], "b": [0.0, 1.0]}),
            outputs={"predictions": [i, i]}, latency_ms=1.0, created_at=moment,
        ))
    assert redis_client().xlen(private_stream) == 2  # on the stream, not written yet
    prediction_log_writer_stop()  # drains the stream here: prediction_logs_drain

    listed = boto3.client("s3", endpoint_url=s3_server).list_objects_v2(
        Bucket=s3_bucket, Prefix=f"artifacts/predictions/{served.deployment_id}/")
    hours = sorted(item["Key"].split("/")[3] for item in listed["Contents"])
    assert hours == ["2026-01-01T10", "2026-01-01T11"]
    assert all(item["Key"].endswith(".parquet") for item in listed["Contents"])

    PredictionLog.objects.all().delete()  # what follows can only come from the bucket
    both = prediction_frame(served.deployment_id, datetime(2026, 1, 1, 10), datetime(2026, 1, 1, 12))
    assert both["request_id"].tolist() == ["s0", "s0", "s1", "s1"]
    assert both["a"].tolist() == [0.0, 0.0, 1.0, 10.0] and both["prediction"].tolist() == [0, 0, 1, 1]
    eleven = prediction_frame(served.deployment_id, datetime(2026, 1, 1, 11), datetime(2026, 1, 1, 12))
    assert eleven["request_id"].tolist() == ["s1", "s1"]
    assert not settings.ARTIFACT_ROOT.exists()  # nothing written under ARTIFACT_ROOT


def _no_running_loop():
    raise RuntimeError("no running event loop")


def test_an_hour_in_the_bucket_is_compacted_there_and_read_from_there(owner, owner_api, s3_store, s3_server, s3_bucket):
    deploy_with_key(owner_api, owner, "bucketed")
    served = served_get("bucketed")
    hour = datetime(2026, 1, 1, 10, tzinfo=UTC)
    start_us = int(hour.timestamp() * 1_000_000)
    for batch in range(4):
        records = [{"d": served.deployment_id, "v": served.model_version_id, "id": f"b{batch}-{i}", "p": "json",
                    "s": 200, "e": "", "n": 2, "c": ["a", "b"], "x": [[float(batch), 0.0], [float(i), 1.0]],
                    "o": {"predictions": [0, 1]}, "l": 1.0, "t": start_us + (batch * 10 + i) * 1_000_000}
                   for i in range(5)]
        prediction_records_write(records, name=f"batch-{batch}")

    result = prediction_hour_compact(deployment_id=served.deployment_id, hour=hour)

    listed = boto3.client("s3", endpoint_url=s3_server).list_objects_v2(
        Bucket=s3_bucket, Prefix=f"artifacts/predictions/{served.deployment_id}/")
    assert [item["Key"] for item in listed["Contents"]] == [f"artifacts/{result.key}"]
    assert result.merged == 4 and result.rows == 40
    PredictionLog.objects.all().delete()  # what follows can only come from the bucket
    frame = prediction_frame(served.deployment_id, hour, hour + timedelta(hours=1))
    assert len(frame) == 40 and frame["request_id"].nunique() == 20
    assert not settings.ARTIFACT_ROOT.exists()  # nothing written under ARTIFACT_ROOT

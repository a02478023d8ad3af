"""Monitoring windows read logged inputs from the Parquet copy of the prediction logs
when it covers the window, and from the logs' JSON when it does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from pipelines.models import PredictionLog
from pipelines.selectors import monitoring as reads
from tests.integration.monitoring_factories import (
    FEATURES,
    deploy_monitored,
    log_traffic,
    traffic,
    write_traffic,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_store")]

DAY = datetime(2026, 11, 2, tzinfo=UTC)
WINDOW = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z"}


@pytest.fixture
def watched(owner, owner_api):
    return deploy_monitored(owner_api, owner)


def run_window(client):
    response = client.post("/api/deployments/watched/monitoring/run/", WINDOW, format="json")
    assert response.status_code == 200, response.content
    return response.json()["windows"][0]


def test_a_window_is_computed_from_parquet_without_the_logged_json(watched, owner_api):
    write_traffic(watched, traffic(1000, seed=1, shift=("a", "b")), at=DAY + timedelta(hours=3))
    before = run_window(owner_api)

    PredictionLog.objects.update(inputs=None, outputs=None)  # the JSON is gone: only Parquet can answer
    after = run_window(owner_api)

    assert after["n"] == 1000
    assert {f["name"] for f in after["drift"]["features"] if f["drifted"]} == {"a", "b"}
    assert after["drift"] == before["drift"] and after["status"] == "alert"
    assert after["prediction_drift"] == before["prediction_drift"]


def test_the_parquet_frame_has_the_shape_and_rows_of_the_json_frame(watched):
    write_traffic(watched, traffic(300, seed=3), at=DAY + timedelta(hours=1), rows_per_request=7)
    start, end = DAY, DAY + timedelta(days=1)

    parquet = reads.prediction_window_frame(watched, start, end, limit=5000)
    logged = reads._window_from_json(watched, start, end, limit=5000)

    assert parquet.attrs == logged.attrs == {"n_rows": 300, "present": {"a", "b", "city"}}
    assert set(parquet.columns) == set(logged.columns) == {*FEATURES, reads.REQUEST_ID, reads.ROW, reads.PREDICTION}
    key = [reads.REQUEST_ID, reads.ROW]
    pd.testing.assert_frame_equal(
        parquet.sort_values(key).reset_index(drop=True)[list(logged.columns)],
        logged.sort_values(key).reset_index(drop=True), check_dtype=False,
    )


def test_a_sampled_parquet_window_keeps_whole_requests_until_the_row_sample(watched):
    write_traffic(watched, traffic(2000, seed=4), at=DAY + timedelta(hours=1), rows_per_request=10)
    PredictionLog.objects.update(inputs=None)

    frame = reads.prediction_window_frame(watched, DAY, DAY + timedelta(days=1), limit=500)

    assert len(frame) == 500 and frame.attrs["n_rows"] == 2000
    assert frame[reads.REQUEST_ID].nunique() >= 50  # about 50 requests, then 500 of their rows
    assert frame[list(FEATURES)].notna().all().all()
    again = reads.prediction_window_frame(watched, DAY, DAY + timedelta(days=1), limit=500)
    pd.testing.assert_frame_equal(frame, again)  # a fixed seed


def test_rows_missing_from_parquet_make_the_window_read_the_logged_json(watched, owner_api):
    write_traffic(watched, traffic(200, seed=5), at=DAY + timedelta(hours=1))
    log_traffic(watched, traffic(300, seed=6), at=DAY + timedelta(hours=2))  # rows stored with no Parquet copy

    frame = reads.prediction_window_frame(watched, DAY, DAY + timedelta(days=1), limit=5000)

    assert len(frame) == frame.attrs["n_rows"] == 500
    assert frame[list(FEATURES)].notna().all().all()


def test_a_window_over_batches_that_logged_a_column_as_text_and_as_numbers_reports_the_type_errors(
    watched, owner_api
):
    """One batch of clients sent ``a`` as text ("0.5", or a blank), the next as numbers:
    the window is computed from Parquet, and the blanks are data-quality findings."""
    frame = traffic(200, seed=8)
    sent = frame.astype({"a": object})
    sent.loc[:99, "a"] = [str(v) for v in frame["a"][:100]]
    sent.loc[:9, "a"] = ""  # a blank: not a number
    write_traffic(watched, frame, at=DAY + timedelta(hours=3), requests_per_batch=10, sent=sent)
    PredictionLog.objects.update(inputs=None, outputs=None)  # only Parquet can answer

    window = run_window(owner_api)

    assert window["n"] == 200
    a = next(c for c in window["quality"]["columns"] if c["name"] == "a")
    assert a["type_error_share"] == pytest.approx(10 / 200)
    assert "a: 5.0% values are not numbers" in window["quality"]["issues"]
    assert not next(f for f in window["drift"]["features"] if f["name"] == "a")["drifted"]

"""Monitoring reads what serving logged: predictions through the real endpoint, their
inputs and outputs as the log writer stored them, and ground truth posted afterwards."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.services.monitoring import window_floor
from pipelines.serving.logbuffer import prediction_logs_flush
from tests.integration.monitoring_factories import deploy_monitored, traffic

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("fresh_serving")]


def test_a_window_is_computed_from_the_endpoints_own_logs_and_late_feedback(owner, owner_api):
    deploy_monitored(owner_api, owner)
    frame = traffic(150, seed=9, shift=("a",), cities=["paris", "rome", "lisbon"])
    request_ids, predictions = [], []
    for first in range(0, 150, 10):
        rows = frame.iloc[first:first + 10].to_dict("records")
        response = owner_api.generic("POST", "/api/deployments/watched/predict", json.dumps({"instances": rows}),
                                     content_type="application/json")
        assert response.status_code == 200, response.content
        request_ids.append(response["X-Request-ID"] if response.has_header("X-Request-ID")
                           else response.json()["request_id"])
        predictions += response.json()["predictions"]
    prediction_logs_flush()
    feedback = [{"request_id": rid, "label": predictions[i * 10:(i + 1) * 10]} for i, rid in enumerate(request_ids)]
    assert owner_api.post("/api/deployments/watched/feedback", feedback, format="json").status_code == 200

    start = window_floor(datetime.now(UTC), "day")
    response = owner_api.post("/api/deployments/watched/monitoring/run/",
                              {"start": start.isoformat(), "end": (start + timedelta(days=1)).isoformat()},
                              format="json")

    assert response.status_code == 200, response.content
    window = response.json()["windows"][0]
    assert window["n"] == 150 and window["requests"] == 15
    features = {f["name"]: f for f in window["drift"]["features"]}
    assert set(features) == {"a", "b", "city"}
    # 150 rows is a small window for a distance test: only the shifted columns are asserted.
    assert features["a"]["drifted"] and features["city"]["drifted"]
    assert features["a"]["score"] > 5 * features["b"]["score"]
    city = next(c for c in window["quality"]["columns"] if c["name"] == "city")
    assert city["unseen"] == ["lisbon"]
    assert window["performance"]["n_labels"] == 150 and window["performance"]["value"] == 1.0
    assert window["latency_ms"]["p95"] > 0

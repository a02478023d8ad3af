"""Ground truth (feedback) is written by editors or the deployment's key, never by a viewer."""

from __future__ import annotations

import pytest
from django.utils import timezone

from pipelines.models import Deployment, PredictionLog
from tests.conftest import api_client_for
from tests.integration.world import bearer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_store")]

FEEDBACK = "/api/deployments/dep/feedback"


@pytest.fixture
def logged_prediction(world) -> PredictionLog:
    return PredictionLog.objects.create(
        deployment=Deployment.objects.get(name="dep"),
        request_id="req-1",
        status=200,
        n_rows=1,
        latency_ms=1.0,
        created_at=timezone.now(),
    )


def test_a_viewers_token_gets_403_and_leaves_the_label_unset(logged_prediction, viewer):
    response = api_client_for(viewer).post(
        FEEDBACK, {"request_id": "req-1", "label": 1}, format="json"
    )

    assert response.status_code == 403
    assert PredictionLog.objects.get(request_id="req-1").label is None


def test_the_deployment_key_records_ground_truth(world, logged_prediction):
    response = bearer(world["key"]["key"]).post(
        FEEDBACK, {"request_id": "req-1", "label": 1}, format="json"
    )

    assert response.status_code == 200
    assert PredictionLog.objects.get(request_id="req-1").label == [1]


def test_an_editors_token_records_ground_truth(logged_prediction, editor):
    response = api_client_for(editor).post(
        FEEDBACK, {"request_id": "req-1", "label": 0}, format="json"
    )

    assert response.status_code == 200
    assert PredictionLog.objects.get(request_id="req-1").label == [0]


def test_another_deployments_key_gets_404_and_leaves_the_label_unset(world, logged_prediction):
    response = bearer(world["outsider_key"]["key"]).post(
        FEEDBACK, {"request_id": "req-1", "label": 1}, format="json"
    )

    assert response.status_code == 404
    assert PredictionLog.objects.get(request_id="req-1").label is None

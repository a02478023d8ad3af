"""GET /metrics: Prometheus text, who may scrape it, and numbers that match the traffic."""

from __future__ import annotations

import json
import os
import time

import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from pipelines.models import Membership, Role, Run, RunStatus
from pipelines.services.prediction_logs import COUNTERS_IDS, redis_client
from pipelines.serving import handler
from pipelines.serving.logbuffer import prediction_log_writer_stop
from pipelines.serving.logstream import STREAM_KEY
from pipelines.serving.state import caches_clear, model_get, served_get
from tests.conftest import api_client_for
from tests.integration.serving_factories import deploy_with_key, trained_run
from tests.integration.world import personal

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    """Empty counters, and a stream of this test's own (a Celery worker of another test
    may still run a drain task and would count the shared stream's entries first)."""
    from pipelines.services import prediction_logs
    from pipelines.serving import logstream

    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    caches_clear()
    client = redis_client()
    client.delete(COUNTERS_IDS, *client.keys("mlops:predlog:metrics:*"))
    key = f"{STREAM_KEY}:test-{os.getpid()}-{time.monotonic_ns()}"
    monkeypatch.setattr(logstream, "STREAM_KEY", key)
    monkeypatch.setattr(prediction_logs, "STREAM_KEY", key)
    monkeypatch.setattr(prediction_logs, "_group_ready", False)
    yield
    prediction_log_writer_stop()
    client.delete(key)
    caches_clear()


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _predict(name: str, body: dict) -> int:
    served = served_get(name)
    status, _, _ = handler.predict_json(served, model_get(served.artifact_sha256), json.dumps(body).encode())
    return status


@pytest.fixture
def staff(make_user):
    user = make_user("ops")
    user.is_staff = True
    user.save()
    return user


def test_anonymous_callers_and_members_who_are_not_staff_cannot_scrape(owner, owner_api, settings):
    settings.METRICS_TOKEN = "scrape-me-0123456789"
    deploy_with_key(owner_api, owner, "secret-name")
    anonymous = APIClient().get("/metrics")
    wrong = APIClient(HTTP_AUTHORIZATION="Bearer not-the-token").get("/metrics")
    member = owner_api.get("/metrics")
    post = APIClient(HTTP_AUTHORIZATION="Bearer scrape-me-0123456789").post("/metrics")

    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    assert "METRICS_TOKEN" in anonymous.json()["detail"]
    assert wrong.status_code == 401
    assert member.status_code == 403 and "staff" in member.json()["detail"]
    assert post.status_code == 405
    for response in (anonymous, wrong, member, post):
        assert b"secret-name" not in response.content


def test_without_a_configured_token_no_bearer_token_opens_it(settings):
    settings.METRICS_TOKEN = ""
    assert APIClient(HTTP_AUTHORIZATION="Bearer ").get("/metrics").status_code == 401


def test_requests_errors_and_latency_per_deployment_match_the_traffic_from_redis_and_from_the_database(
    owner, owner_api, outsider, outsider_api, staff, settings
):
    settings.METRICS_TOKEN = "scrape-me-0123456789"
    deploy_with_key(owner_api, owner, "alpha")
    deploy_with_key(outsider_api, outsider, "beta")
    statuses = [_predict("alpha", {"instances": [{"a": 1.0, "b": 0.0}] * (1 + i % 3)}) for i in range(7)]
    statuses += [_predict("alpha", {"instances": []}) for _ in range(2)]
    statuses += [_predict("beta", {"instances": [{"a": 0.0, "b": 1.0}]}) for _ in range(3)]
    assert statuses.count(400) == 2
    prediction_log_writer_stop()  # drains the stream: the counters are updated by the drainer
    done = trained_run(owner)
    Run.objects.create(workspace=personal(owner), pipeline=done.pipeline, pipeline_version=done.pipeline_version,
                       status=RunStatus.FAILED, created_by=owner)

    scraped = APIClient(HTTP_AUTHORIZATION="Bearer scrape-me-0123456789").get("/metrics")
    as_staff = api_client_for(staff).get("/metrics")
    assert scraped.status_code == as_staff.status_code == 200
    assert scraped["Content-Type"].startswith("text/plain; version=")
    m = _samples(scraped.content.decode())
    alpha, beta = (("deployment", "alpha"),), (("deployment", "beta"),)
    assert m[("mlops_prediction_requests_total", alpha)] == 9
    assert m[("mlops_prediction_errors_total", alpha)] == 2
    assert m[("mlops_prediction_rows_total", alpha)] == sum(1 + i % 3 for i in range(7))
    assert m[("mlops_prediction_requests_total", beta)] == 3
    assert m[("mlops_prediction_latency_seconds_count", alpha)] == 9
    assert m[("mlops_prediction_latency_seconds_bucket", (("deployment", "alpha"), ("le", "+Inf")))] == 9
    assert 0 < m[("mlops_prediction_latency_seconds_sum", alpha)] < 9 * 10
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in m.items()
                     if k[0] == "mlops_prediction_latency_seconds_bucket" and dict(k[1])["deployment"] == "alpha")
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)  # cumulative
    assert m[("mlops_runs", (("status", "failed"),))] == Run.objects.filter(status="failed").count() >= 1
    assert m[("mlops_runs", (("status", "running"),))] == 0
    assert ("mlops_steps", (("status", "succeeded"),)) in m
    assert m[("mlops_queue_length", (("queue", "celery"),))] >= 0
    assert m[("mlops_prediction_log_backlog", (("state", "waiting"),))] == 0

    # `make run` (no Redis): the same numbers from one query over the log table.
    settings.REDIS_URL = ""
    from_db = _samples(api_client_for(staff).get("/metrics").content.decode())
    for name in ("requests_total", "errors_total", "rows_total", "latency_seconds_count"):
        assert from_db[(f"mlops_prediction_{name}", alpha)] == m[(f"mlops_prediction_{name}", alpha)], name
    for key, value in m.items():
        if key[0] == "mlops_prediction_latency_seconds_bucket":
            assert from_db[key] == value, key


def test_scraping_costs_a_fixed_number_of_queries_however_many_deployments(
    owner, owner_api, staff, django_assert_max_num_queries
):
    for name in ("one", "two", "three"):
        deploy_with_key(owner_api, owner, name)
        _predict(name, {"instances": [{"a": 1.0, "b": 0.0}]})
    Membership.objects.get_or_create(workspace=personal(owner), user=staff, defaults={"role": Role.VIEWER})
    prediction_log_writer_stop()
    client = api_client_for(staff)
    with django_assert_max_num_queries(6):
        response = client.get("/metrics")
    assert response.status_code == 200
    assert {dict(k[1]).get("deployment") for k in _samples(response.content.decode())} >= {"one", "two", "three"}

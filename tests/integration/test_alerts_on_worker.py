"""Alert channels and retraining with a real Celery worker, PostgreSQL and Redis.

Webhooks go to a real HTTP receiver (``http.server`` in a thread of this process)
on loopback; the retrain policy starts a real run of a real pipeline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from pipelines.demo import DEMO_PIPELINES
from pipelines.models import AlertDelivery, AlertRule, Deployment, RetrainRun, Run
from pipelines.services.alerts import alert_rules_evaluate
from pipelines.services.retrain import retrain_runs_collect
from tests.conftest import wait_for_run
from tests.integration.alert_windows import window
from tests.integration.serving_factories import deploy_with_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Receiver:
    """An HTTP server on 127.0.0.1 that records each request and answers ``codes`` in turn (then 200)."""

    def __init__(self, codes: list[int] | None = None):
        self.codes = list(codes or [])
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.codes.pop(0) if receiver.codes else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?team=ml"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.requests)} of {count} webhook requests arrived in {timeout}s")
            time.sleep(0.1)
        return self.requests

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(codes=None):
        made.append(Receiver(codes))
        return made[-1]

    yield make
    for r in made:
        r.close()


def _hooked_rule(api, name: str, url: str) -> str:
    AlertRule.objects.filter(deployment__name=name).delete()
    response = api.post(
        f"/api/deployments/{name}/alert-rules/",
        {"signal": "drift_share", "threshold": 0.5, "channels": [{"kind": "webhook", "target": url}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["webhook_secret"]


def test_a_real_worker_delivers_validly_signed_webhooks_on_firing_and_resolving(
    owner, owner_api, celery_worker_process, receiver
):
    deploy_with_key(owner_api, owner, "hooked")
    hook = receiver()
    secret = _hooked_rule(owner_api, "hooked", hook.url)
    deployment = Deployment.objects.get(name="hooked")

    alert = alert_rules_evaluate(deployment, window(1, share=0.75, drifted=("a",)))[0]
    first = hook.wait_for(1)[0]
    alert_rules_evaluate(deployment, window(2, share=0.0))
    second = hook.wait_for(2)[1]

    for request, status in ((first, "firing"), (second, "resolved")):
        expected = "sha256=" + hmac.new(secret.encode(), request["body"], hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request["headers"]["X-MLOps-Signature"], expected)
        assert request["path"] == "/hook?team=ml"
        assert request["headers"]["Content-Type"] == "application/json"
        body = json.loads(request["body"])
        assert {"alert", "deployment", "signal", "value", "threshold", "window", "status"} <= set(body)
        assert (body["alert"], body["deployment"], body["signal"], body["status"]) == (
            alert.pk, "hooked", "drift_share", status)
    assert json.loads(first["body"])["value"] == 0.75 and json.loads(first["body"])["threshold"] == 0.5
    assert json.loads(first["body"])["window"] == {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    deadline = time.monotonic() + 10
    while set(AlertDelivery.objects.values_list("status", flat=True)) != {"sent"} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(AlertDelivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_webhook_answered_503_is_retried_by_the_worker_until_it_is_taken(
    owner, owner_api, celery_worker_process, receiver
):
    deploy_with_key(owner_api, owner, "flaky")
    hook = receiver(codes=[503])
    _hooked_rule(owner_api, "flaky", hook.url)

    alert_rules_evaluate(Deployment.objects.get(name="flaky"), window(1, share=0.9))
    first, second = hook.wait_for(2, timeout=90)

    assert first["body"] == second["body"]  # the same message, signed the same, with the same delivery id
    assert first["headers"]["X-MLOps-Delivery"] == second["headers"]["X-MLOps-Delivery"]
    deadline = time.monotonic() + 10
    delivery = AlertDelivery.objects.get()
    while delivery.status != "sent" and time.monotonic() < deadline:
        time.sleep(0.1)
        delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("sent", 2, 200)


def _pipeline(api) -> dict:
    spec = DEMO_PIPELINES[0]
    response = api.post("/api/pipelines/", {"name": "retrain me", "graph": spec["graph"]()}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_persisting_drift_alert_starts_a_retrain_run_whose_model_becomes_a_candidate_and_cooldown_holds(
    owner, owner_api, celery_worker_process
):
    deploy_with_key(owner_api, owner, "watched")
    deployment = Deployment.objects.get(name="watched")
    pipeline = _pipeline(owner_api)
    policy = owner_api.put(
        "/api/deployments/watched/retrain/",
        {"pipeline": pipeline["id"], "on": ["drift"], "consecutive": 2, "cooldown_hours": 1},
        format="json",
    )
    assert policy.status_code == 200, policy.content
    AlertRule.objects.filter(deployment=deployment).exclude(signal="drift_share").delete()

    alert = alert_rules_evaluate(deployment, window(1, share=0.8))[0]
    assert not Run.objects.filter(pipeline_id=pipeline["id"]).exists()  # one window is not persistent yet
    alert_rules_evaluate(deployment, window(2, share=0.8))

    run = Run.objects.get(pipeline_id=pipeline["id"])
    assert (run.trigger, run.trigger_detail) == ("drift", f"drift alert #{alert.pk}")
    finished = wait_for_run(owner_api, run.pk, timeout=180)
    assert finished["status"] == "succeeded", finished

    alert_rules_evaluate(deployment, window(3, share=0.8))  # still drifting: the next tick collects, no new run
    assert Run.objects.filter(pipeline_id=pipeline["id"]).count() == 1
    retrain = owner_api.get("/api/deployments/watched/retrain/").json()
    candidate = retrain["runs"][0]["model_version"]
    assert candidate["name"] == "model-of-watched" and candidate["version"] == 2
    serving = owner_api.get("/api/deployments/watched/").json()["model_version"]
    assert serving["version"] == 1  # a candidate, not deployed
    aliases = owner_api.get("/api/registered-models/model-of-watched/").json()["aliases"]
    assert aliases["challenger"] == 2  # no gates set: the candidate became the challenger
    assert owner_api.get(f"/api/alerts/{alert.pk}/").json()["retrain_runs"] == [run.pk]

    RetrainRun.objects.update(created_at=timezone.now() - timedelta(hours=2))  # the cooldown has passed
    alert_rules_evaluate(deployment, window(4, share=0.8))
    assert Run.objects.filter(pipeline_id=pipeline["id"], trigger="drift").count() == 2


def test_beat_registers_the_candidate_of_a_finished_retrain_run(owner, owner_api, celery_worker_process):
    """The candidate is registered without another monitoring tick: the collect task does it."""
    from pipelines.tasks import retrain_runs_collect as collect_task

    deploy_with_key(owner_api, owner, "collected")
    deployment = Deployment.objects.get(name="collected")
    pipeline = _pipeline(owner_api)
    owner_api.put("/api/deployments/collected/retrain/", {"pipeline": pipeline["id"], "consecutive": 1},
                  format="json")
    AlertRule.objects.filter(deployment=deployment).exclude(signal="drift_share").delete()
    alert_rules_evaluate(deployment, window(1, share=0.9))
    run = Run.objects.get(pipeline_id=pipeline["id"])
    wait_for_run(owner_api, run.pk, timeout=180)

    collect_task.delay()  # what beat sends every RETRAIN_COLLECT_SECONDS
    deadline = time.monotonic() + 60
    while not RetrainRun.objects.filter(run=run, done=True).exists():
        assert time.monotonic() < deadline, "the worker did not collect the retrain run"
        time.sleep(0.2)
    assert RetrainRun.objects.get(run=run).model_version.number == 2
    assert retrain_runs_collect() == 0  # collected once


def test_a_candidate_the_gates_refuse_is_registered_but_not_made_the_challenger(
    owner, owner_api, celery_worker_process
):
    deploy_with_key(owner_api, owner, "gated")
    deployment = Deployment.objects.get(name="gated")
    model = deployment.current_revision.model_version.registered_model.name
    gates = owner_api.put(
        f"/api/registered-models/{model}/gates/",
        {"checks": [{"kind": "min_rows", "value": 10_000_000, "blocking": True}]}, format="json",
    )
    assert gates.status_code == 200, gates.content
    pipeline = _pipeline(owner_api)
    owner_api.put("/api/deployments/gated/retrain/", {"pipeline": pipeline["id"], "consecutive": 1},
                  format="json")
    AlertRule.objects.filter(deployment=deployment).exclude(signal="drift_share").delete()
    alert_rules_evaluate(deployment, window(1, share=0.9))
    run = Run.objects.get(pipeline_id=pipeline["id"])
    wait_for_run(owner_api, run.pk, timeout=180)

    assert retrain_runs_collect() == 1

    retrain = RetrainRun.objects.get(run=run)
    assert retrain.model_version.number == 2
    assert "not made challenger" in retrain.error and "min_rows" in retrain.error
    assert "challenger" not in owner_api.get(f"/api/registered-models/{model}/").json()["aliases"]

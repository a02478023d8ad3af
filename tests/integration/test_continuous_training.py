"""Continuous training with ``auto_champion``: retrain → evaluate → gates → challenger → champion.

The retrain runs on a real worker; the deployment ``live`` follows ``champion`` of the
model it serves, so an automatic promotion is what it serves next."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from pipelines.demo import DEMO_PIPELINES
from pipelines.models import AlertRule, Deployment, GateEvaluation, RetrainRun, Run
from pipelines.services import gates
from pipelines.services.alerts import alert_rules_evaluate
from pipelines.services.retrain import retrain_runs_collect
from tests.conftest import wait_for_run
from tests.integration.alert_windows import window
from tests.integration.serving_factories import asgi_request, deploy_with_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MODEL = "model-of-pinned"


def _following_champion(owner_api, owner, gates: list[dict]) -> str:
    """v1 of ``MODEL`` is champion, ``live`` follows champion; the model has ``gates``. A key of ``live``."""
    deploy_with_key(owner_api, owner, "pinned")
    promoted = owner_api.post(f"/api/registered-models/{MODEL}/versions/1/promote/", {"alias": "champion"},
                              format="json")
    assert promoted.status_code == 200, promoted.content
    live = owner_api.post("/api/deployments/", {"name": "live", "model": MODEL, "alias": "champion"}, format="json")
    assert live.status_code == 201, live.content
    set_gates = owner_api.put(f"/api/registered-models/{MODEL}/gates/", {"checks": gates}, format="json")
    assert set_gates.status_code == 200, set_gates.content
    return owner_api.post("/api/deployments/live/keys/", {"name": "ct"}, format="json").json()["key"]


def _retrain_once(owner_api, *, auto_champion: bool) -> RetrainRun:
    """A drift alert on ``live`` starts the retrain pipeline; wait for it and collect its candidate."""
    pipeline = owner_api.post("/api/pipelines/", {"name": "retrain", "graph": DEMO_PIPELINES[0]["graph"]()},
                              format="json").json()
    policy = owner_api.put("/api/deployments/live/retrain/", {"pipeline": pipeline["id"], "consecutive": 1,
                                                              "auto_champion": auto_champion}, format="json")
    assert policy.status_code == 200, policy.content
    assert policy.json()["auto_champion"] is auto_champion
    deployment = Deployment.objects.get(name="live")
    AlertRule.objects.filter(deployment=deployment).exclude(signal="drift_share").delete()
    alert_rules_evaluate(deployment, window(1, share=0.9))
    run = Run.objects.get(pipeline_id=pipeline["id"])
    assert wait_for_run(owner_api, run.pk, timeout=180)["status"] == "succeeded"
    assert retrain_runs_collect() == 1
    return RetrainRun.objects.select_related("model_version").get(run=run)


def _predict_version(key: str, row: dict) -> int:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    status, body, _ = asgi_request("POST", "/api/deployments/live/predict", headers=headers,
                                   body=json.dumps({"instances": [row]}).encode())
    assert status == 200, body
    return body["model_version"]


def test_when_every_gate_passes_the_retrained_model_becomes_champion_and_the_following_deployment_serves_it(
    owner, owner_api, celery_worker_process
):
    key = _following_champion(owner_api, owner, [{"kind": "min_rows", "value": 10, "blocking": True}])

    retrain = _retrain_once(owner_api, auto_champion=True)

    assert retrain.model_version.number == 2 and retrain.error == ""
    aliases = owner_api.get(f"/api/registered-models/{MODEL}/").json()["aliases"]
    assert (aliases["challenger"], aliases["champion"]) == (2, 2)
    history = owner_api.get(f"/api/registered-models/{MODEL}/history/").json()["results"]
    automatic = [e for e in history if e["alias"] == "champion" and e["to_version"] == 2]
    assert len(automatic) == 1, history
    assert automatic[0]["reason"] == "automatic: all gates passed" and automatic[0]["override"] is False
    assert [g["passed"] for g in automatic[0]["gates"]] == [True]
    assert owner_api.get("/api/deployments/live/").json()["model_version"]["version"] == 2
    assert _predict_version(key, retrain.model_version.signature["example"]) == 2


def test_a_failing_warn_only_gate_keeps_the_retrained_model_challenger_and_says_why(
    owner, owner_api, celery_worker_process
):
    # The retrain pipeline learns other columns than the served model (a, b): schema_compatible
    # fails for champion's deployments. Warn-only does not stop challenger, but does stop champion.
    key = _following_champion(owner_api, owner, [{"kind": "min_rows", "value": 10, "blocking": True},
                                                 {"kind": "schema_compatible", "blocking": False}])

    retrain = _retrain_once(owner_api, auto_champion=True)

    assert retrain.model_version.number == 2
    aliases = owner_api.get(f"/api/registered-models/{MODEL}/").json()["aliases"]
    assert (aliases["challenger"], aliases["champion"]) == (2, 1)
    assert "not made champion automatically" in retrain.error and "schema_compatible failed" in retrain.error
    refused = GateEvaluation.objects.get(model_version=retrain.model_version, alias="champion")
    assert refused.promoted is False
    assert {r["kind"]: r["passed"] for r in refused.results} == {"min_rows": True, "schema_compatible": False}
    history = owner_api.get(f"/api/registered-models/{MODEL}/history/").json()["results"]
    assert not [e for e in history if e["alias"] == "champion" and e["to_version"] == 2]
    runs = owner_api.get("/api/deployments/live/retrain/").json()["runs"]
    assert "schema_compatible" in runs[0]["error"]
    assert _predict_version(key, {"a": 1.0, "b": 0.0}) == 1


def test_an_automatic_promotion_runs_each_gate_once_and_checks_the_schema_for_each_alias(
    owner, owner_api, celery_worker_process, monkeypatch
):
    # As above, schema_compatible (warn-only) fails for champion's deployments only: it is the
    # gate about the alias and runs for each; the others ran for challenger and are reused.
    _following_champion(owner_api, owner, [{"kind": "min_rows", "value": 10, "blocking": True},
                                           {"kind": "latency_p95_ms", "value": 60_000, "blocking": True},
                                           {"kind": "schema_compatible", "blocking": False}])
    ran = Counter()

    def counted(kind, evaluate):
        def run(gate, **context):
            ran[kind] += 1
            return evaluate(gate, **context)
        return run

    for kind, evaluate in gates._EVALUATE.items():
        monkeypatch.setitem(gates._EVALUATE, kind, counted(kind, evaluate))

    retrain = _retrain_once(owner_api, auto_champion=True)

    assert ran == {"min_rows": 1, "latency_p95_ms": 1, "schema_compatible": 2}
    results = {e.alias: e.results for e in GateEvaluation.objects.filter(model_version=retrain.model_version)}
    assert results["champion"][:2] == results["challenger"][:2]  # the same measured latency, not a second one
    assert [r["passed"] for r in results["challenger"]] == [True, True, True]
    assert [r["passed"] for r in results["champion"]] == [True, True, False]
    assert "not made champion automatically" in retrain.error and "schema_compatible failed" in retrain.error


def test_without_auto_champion_the_retrained_model_stays_challenger_even_when_every_gate_passes(
    owner, owner_api, celery_worker_process
):
    _following_champion(owner_api, owner, [{"kind": "min_rows", "value": 10, "blocking": True}])

    retrain = _retrain_once(owner_api, auto_champion=False)

    aliases = owner_api.get(f"/api/registered-models/{MODEL}/").json()["aliases"]
    assert (aliases["challenger"], aliases["champion"]) == (2, 1) and retrain.error == ""


def test_a_model_without_gates_is_never_made_champion_automatically(owner, owner_api, celery_worker_process):
    _following_champion(owner_api, owner, [])

    retrain = _retrain_once(owner_api, auto_champion=True)

    aliases = owner_api.get(f"/api/registered-models/{MODEL}/").json()["aliases"]
    assert (aliases["challenger"], aliases["champion"]) == (2, 1)
    assert "no gates" in retrain.error


def test_continuous_training_is_offered_as_a_template_on_the_new_pipeline_page(owner):
    from django.test import Client

    client = Client()
    client.force_login(owner)
    page = client.get("/pipelines/new/").content.decode()

    assert "Continuous training — retrain, evaluate, gate, promote" in page
    assert "tick automatic promotion" in page

"""Deployments that follow an alias: canary split, shadow, automatic rollback, bad input.

Models are real, signed scikit-learn Pipelines stored by runs made directly (ORM +
the real artifact store); registration, promotion, deployment and traffic go
through the API; predictions go through the production ASGI app in this process.
"""

from __future__ import annotations

import json
import time
import uuid

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pipelines.models import (
    AuditEvent,
    Deployment,
    Membership,
    ModelVersion,
    PredictionLog,
    PromotionEvent,
    Role,
    Run,
    ShadowPrediction,
    TrafficChange,
    Workspace,
)
from pipelines.models.delivery import ImmutableError
from pipelines.services.rollout import ROLLOUT_MIN_REQUESTS, rollout_check_all, rollout_compare
from pipelines.serving.logbuffer import prediction_logs_flush
from pipelines.serving.shadow import shadow_flush
from tests.conftest import api_client_for, start_beat, stop_worker
from tests.integration import delivery_models
from tests.integration.delivery_models import trained_run
from tests.integration.serving_factories import asgi_request

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("fresh_serving")]


def _register(client, run: Run) -> dict:
    response = client.post("/api/models/", {"name": "m", "run": run.pk, "node": "train"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _promote(client, number: int, alias: str):
    response = client.post(f"/api/registered-models/m/versions/{number}/promote/", {"alias": alias},
                           format="json")
    assert response.status_code == 200, response.content


@pytest.fixture
def live(owner, owner_api):
    """Model ``m``: v1 champion, v2 challenger (same columns, opposite answers), deployed as
    ``live`` following champion, with a key."""
    _register(owner_api, trained_run(owner, ["a", "b"]))
    _register(owner_api, trained_run(owner, ["a", "b"], flip=True))
    _promote(owner_api, 1, "champion")
    _promote(owner_api, 2, "challenger")
    created = owner_api.post("/api/deployments/", {"name": "live", "model": "m", "alias": "champion"},
                             format="json")
    assert created.status_code == 201, created.content
    key = owner_api.post("/api/deployments/live/keys/", {"name": "t"}, format="json").json()["key"]
    return {"key": key}


def _predict(key: str, row: dict | None = None, request_id: str | None = None) -> tuple[int, dict, dict]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if request_id:
        headers["X-Request-ID"] = request_id
    body = json.dumps({"instances": [row or {"a": 1.0, "b": 1.0}]}).encode()
    return asgi_request("POST", "/api/deployments/live/predict", headers=headers, body=body)


def _traffic(client, body, status=200) -> dict:
    response = client.put("/api/deployments/live/traffic/", body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def test_a_canary_split_sends_about_its_share_and_the_same_request_id_always_lands_on_the_same_side(
    live, owner_api
):
    _traffic(owner_api, {"split": {"champion": 90, "challenger": 10}})
    sides = {1: 0, 2: 0}
    for _ in range(1000):
        status, body, _ = _predict(live["key"])  # no X-Request-ID: a random one per request
        assert status == 200, body
        sides[body["model_version"]] += 1
    assert 70 <= sides[2] <= 130, sides  # 10 % ± 3 points of 1,000

    for _ in range(20):
        request_id = uuid.uuid4().hex
        seen = {_predict(live["key"], request_id=request_id)[1]["model_version"] for _ in range(5)}
        assert len(seen) == 1, (request_id, seen)

    # Each side answers with its own model and is logged as itself.
    prediction_logs_flush()
    logged = dict(PredictionLog.objects.filter(deployment__name="live").values_list("request_id", "model_version__number"))
    _, body, _ = _predict(live["key"], request_id="sticky-1")
    prediction_logs_flush()
    assert PredictionLog.objects.get(request_id="sticky-1").model_version.number == body["model_version"]
    assert len(logged) >= 1000


def _wait_for_shadows(n: int, timeout: float = 60) -> list[ShadowPrediction]:
    """The deployment's shadow rows once there are ``n`` (or the deadline passed)."""
    deadline = time.monotonic() + timeout
    while True:
        shadows = list(ShadowPrediction.objects.filter(deployment__name="live")
                       .select_related("model_version", "answered_by"))
        if len(shadows) >= n or time.monotonic() > deadline:
            return shadows
        time.sleep(0.2)


def test_shadow_mirrors_to_the_challenger_logs_only_its_answers_and_leaves_the_champion_unchanged(
    live, owner_api, celery_worker_process
):
    rows = [{"a": float(i % 6), "b": float(i % 6)} for i in range(30)]
    before = [_predict(live["key"], row, request_id=f"before-{i}")[1] for i, row in enumerate(rows)]
    _traffic(owner_api, {"shadow": "challenger"})
    after = [_predict(live["key"], row, request_id=f"after-{i}")[1] for i, row in enumerate(rows)]

    # The champion's responses are the same as without the shadow.
    strip = ("request_id",)
    assert [{k: v for k, v in b.items() if k not in strip} for b in before] == [
        {k: v for k, v in a.items() if k not in strip} for a in after
    ]
    assert {a["model_version"] for a in after} == {1}

    # The mirror thread sends the queue every 0.2 s, so it may have sent any part of the 30
    # already (on a loaded machine the requests span several of its ticks); shadow_flush
    # sends the rest now. Together they send each request exactly once.
    shadow_flush()
    assert shadow_flush() == 0  # nothing left queued
    rows = _wait_for_shadows(30)  # a worker predicts them with v2 and records its answers
    shadows = {s.request_id: s for s in rows}
    assert len(rows) == 30 and set(shadows) == {f"after-{i}" for i in range(30)}
    assert {s.model_version.number for s in shadows.values()} == {2}
    assert {s.answered_by.number for s in shadows.values()} == {1}
    # v2 learned the opposite labels: it disagrees with the champion on every row.
    for i in range(len(rows)):
        shadow = shadows[f"after-{i}"]
        assert shadow.outputs["predictions"] == [1 - after[i]["predictions"][0]]
        assert shadow.agreement == 0.0 and shadow.latency_ms > 0
    prediction_logs_flush()
    # The prediction log holds only what the champion answered.
    assert set(PredictionLog.objects.filter(deployment__name="live").values_list("model_version__number", flat=True)) == {1}


def test_injected_errors_on_the_canary_roll_the_split_back_to_the_champion(owner, owner_api, monkeypatch):
    monkeypatch.setattr("pipelines.services.rollout.ROLLOUT_MIN_REQUESTS", 20)
    _register(owner_api, trained_run(owner, ["a", "b"]))
    # The new version needs a column "c" that clients do not send: each request it gets fails.
    _register(owner_api, trained_run(owner, ["a", "b", "c"]))
    _promote(owner_api, 1, "champion")
    _promote(owner_api, 2, "challenger")
    owner_api.post("/api/deployments/", {"name": "live", "model": "m", "alias": "champion"}, format="json")
    key = owner_api.post("/api/deployments/live/keys/", {}, format="json").json()["key"]
    _traffic(owner_api, {"split": {"champion": 50, "challenger": 50}})

    answers = [_predict(key)[:2] for _ in range(120)]
    failed = [body for status, body in answers if status != 200]
    assert failed and all(body["field"] in ("body", "c") or "c" in body["detail"] for body in failed)
    prediction_logs_flush()
    assert rollout_check_all() == 1

    traffic = owner_api.get("/api/deployments/live/traffic/").json()
    assert "split" not in traffic
    change = TrafficChange.objects.filter(deployment__name="live").first()
    assert change.automatic and change.traffic == {}
    assert "automatic rollback" in change.reason and "error rate" in change.reason
    # From now on the champion answers everything.
    assert {_predict(key)[1]["model_version"] for _ in range(30)} == {1}
    assert rollout_check_all() == 0  # nothing left to roll back


def test_injected_latency_on_the_canary_rolls_the_split_back_to_the_champion(owner, owner_api, monkeypatch):
    monkeypatch.setattr("pipelines.services.rollout.ROLLOUT_MIN_REQUESTS", 20)
    _register(owner_api, trained_run(owner, ["a", "b"]))
    _register(owner_api, trained_run(owner, ["a", "b"], slow=True))  # sleeps SLOW_SECONDS per prediction
    _promote(owner_api, 1, "champion")
    _promote(owner_api, 2, "challenger")
    owner_api.post("/api/deployments/", {"name": "live", "model": "m", "alias": "champion"}, format="json")
    key = owner_api.post("/api/deployments/live/keys/", {}, format="json").json()["key"]
    # The champion's own p95 on this machine, now: a couple of ms when idle, tens of ms when
    # loaded, when 15 ms more would no longer make the canary 1.5× slower. The injected
    # latency is 3× that baseline (at least 15 ms), so the canary stays clearly slower
    # unless the champion's p95 during the split grows to 6× its baseline.
    for _ in range(40):
        assert _predict(key)[0] == 200
    prediction_logs_flush()
    latencies = PredictionLog.objects.filter(deployment__name="live").values_list("latency_ms", flat=True)
    baseline_ms = float(np.percentile(list(latencies), 95))
    monkeypatch.setattr(delivery_models, "SLOW_SECONDS", max(0.015, 3 * baseline_ms / 1000))
    _traffic(owner_api, {"split": {"champion": 50, "challenger": 50}})  # only requests from now on count
    for _ in range(80):
        assert _predict(key)[0] == 200
    prediction_logs_flush()
    compared = rollout_compare(deployment=Deployment.objects.get(name="live"))
    assert rollout_check_all() == 1, f"baseline p95 {baseline_ms:.1f} ms; (requests, p95 ms): " + str(
        {alias: (side["requests"], side["p95_ms"]) for alias, side in compared.items()})
    change = TrafficChange.objects.filter(deployment__name="live").first()
    assert change.automatic and "p95 latency" in change.reason


def test_a_canary_that_does_as_well_as_the_champion_is_left_alone(live, owner_api, monkeypatch):
    monkeypatch.setattr("pipelines.services.rollout.ROLLOUT_MIN_REQUESTS", 20)
    _traffic(owner_api, {"split": {"champion": 50, "challenger": 50}})
    for _ in range(100):
        assert _predict(live["key"])[0] == 200
    prediction_logs_flush()
    assert rollout_check_all() == 0, TrafficChange.objects.first().reason
    assert _traffic(owner_api, {"split": {"champion": 50, "challenger": 50}})["split"] == {
        "champion": 50, "challenger": 50
    }


def _logged(version: int, latencies_ms, errors: int = 0) -> None:
    """Prediction rows of ``live`` answered by version ``version`` now, one per latency; the
    first ``errors`` of them failed (422), as serving logs a refused request."""
    deployment = Deployment.objects.get(name="live")
    model_version = ModelVersion.objects.get(registered_model__name="m", number=version)
    now = timezone.now()
    PredictionLog.objects.bulk_create(
        PredictionLog(deployment=deployment, model_version=model_version, request_id=uuid.uuid4().hex,
                      status=422 if i < errors else 200, latency_ms=float(latency), created_at=now)
        for i, latency in enumerate(latencies_ms)
    )


def _latencies(rng, n: int = ROLLOUT_MIN_REQUESTS) -> np.ndarray:
    """What a fast model's requests take on this kind of host: about 2 ms, skewed right."""
    return rng.lognormal(np.log(2.0), 0.3, n)


def test_a_few_random_slow_requests_on_the_canary_do_not_roll_it_back(live, owner_api):
    """At 50 requests a side each p95 is about the 3rd slowest request: 3 slow canary
    requests (+30 ms) against the champion's 1 make the canary's p95 several times the
    champion's, though both sides draw from the same distribution."""
    _traffic(owner_api, {"split": {"champion": 50, "challenger": 50}})
    rng = np.random.default_rng(7)
    champion, canary = _latencies(rng), _latencies(rng)
    champion[rng.choice(len(champion), 1, replace=False)] += 30
    canary[rng.choice(len(canary), 3, replace=False)] += 30
    _logged(1, champion)
    _logged(2, canary)

    compared = rollout_compare(deployment=Deployment.objects.get(name="live"))
    assert compared["challenger"]["p95_ms"] > 1.5 * compared["champion"]["p95_ms"] + 5, compared  # the old rule fires
    assert rollout_check_all() == 0, TrafficChange.objects.first().reason
    observed = owner_api.get("/api/deployments/live/traffic/").json()["observed"]
    assert observed["challenger"]["p_latency"] > 0.01 and observed["challenger"]["p_errors"] == 1.0
    assert observed["champion"]["p_latency"] is None and observed["champion"]["p_errors"] is None


def test_a_canary_slower_on_every_request_is_rolled_back_naming_the_p_value(live, owner_api):
    _traffic(owner_api, {"split": {"champion": 50, "challenger": 50}})
    rng = np.random.default_rng(7)
    _logged(1, _latencies(rng))
    _logged(2, _latencies(rng) + 15)

    compared = rollout_compare(deployment=Deployment.objects.get(name="live"))
    assert compared["challenger"]["p_latency"] < 1e-6, compared
    assert rollout_check_all() == 1
    change = TrafficChange.objects.filter(deployment__name="live").first()
    assert change.automatic and "p95 latency" in change.reason
    assert f"Mann–Whitney U test p = {compared['challenger']['p_latency']:.2g}" in change.reason, change.reason


@pytest.mark.parametrize(("errors", "rolled_back"), [(1, False), (10, True)])
def test_one_canary_error_in_50_is_noise_and_ten_are_a_rollback(live, owner_api, errors, rolled_back):
    _traffic(owner_api, {"split": {"champion": 50, "challenger": 50}})
    rng = np.random.default_rng(7)
    _logged(1, _latencies(rng))
    _logged(2, _latencies(rng), errors=errors)

    compared = rollout_compare(deployment=Deployment.objects.get(name="live"))
    assert compared["challenger"]["error_rate"] > 0.01  # more than 1 point over the champion's 0 %
    assert rollout_check_all() == int(rolled_back), TrafficChange.objects.first().reason
    if rolled_back:
        reason = TrafficChange.objects.filter(deployment__name="live").first().reason
        assert "error rate 20.0%" in reason
        assert f"Fisher's exact test p = {compared['challenger']['p_errors']:.2g}" in reason, reason
    else:
        assert compared["challenger"]["p_errors"] == pytest.approx(0.5)


def test_the_comparison_reads_the_requests_in_one_query(live, owner_api):
    _traffic(owner_api, {"split": {"champion": 50, "challenger": 50}})
    rng = np.random.default_rng(7)
    _logged(1, _latencies(rng, 200), errors=3)
    _logged(2, _latencies(rng, 200), errors=5)
    deployment = Deployment.objects.get(name="live")
    with CaptureQueriesContext(connection) as queries:
        compared = rollout_compare(deployment=deployment)
    assert sum("pipelines_predictionlog" in q["sql"] for q in queries) == 1, queries.captured_queries
    assert len(queries) <= 3, queries.captured_queries  # + the aliases and the time of the split
    assert (compared["champion"]["requests"], compared["champion"]["errors"]) == (200, 3)
    assert (compared["challenger"]["requests"], compared["challenger"]["errors"]) == (200, 5)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"split": {"champion": 90, "nope": 10}}, "split.nope"),
        ({"split": {"champion": 90, "challenger": 20}}, "split"),
        ({"split": {"champion": 90, "challenger": 10.5}}, "split.challenger"),
        ({"split": {"challenger": 100}}, "split"),
        ({"split": []}, "split"),
        ({"shadow": "nope"}, "shadow"),
        ({"shadow": "champion"}, "shadow"),
        ({"shadow": 3}, "shadow"),
        ({"split": {"champion": 100}, "shadow": "challenger"}, "shadow"),
        ({"weights": {}}, "weights"),
        ([], "body"),
    ],
)
def test_bad_traffic_settings_are_refused_naming_the_field(live, owner_api, body, field):
    response = owner_api.put("/api/deployments/live/traffic/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field


def test_unknown_alias_on_a_deployment_is_a_400_and_unknown_model_a_404(live, owner_api):
    unknown = owner_api.post("/api/deployments/", {"name": "x", "model": "m", "alias": "staging"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["field"] == "alias"
    assert "champion" in unknown.json()["detail"]
    missing = owner_api.post("/api/deployments/", {"name": "x", "model": "nope", "alias": "champion"}, format="json")
    assert missing.status_code == 404 and missing.json()["field"] == "model"
    both = owner_api.post("/api/deployments/", {"name": "x", "model": "m", "model_version": 1}, format="json")
    assert both.status_code == 400
    no_alias = owner_api.post("/api/deployments/", {"name": "x", "model": "m"}, format="json")
    assert no_alias.status_code == 400 and no_alias.json()["field"] == "alias"


def test_bad_gates_are_refused_naming_the_field(live, owner_api):
    cases = [
        ({"checks": [{"kind": "accuracy_min", "value": 1}]}, "checks[0].kind"),
        ({"checks": [{"kind": "metric_min", "metric": "rocket_score", "value": 0.5}]}, "checks[0].metric"),
        ({"checks": [{"kind": "metric_min", "metric": "accuracy"}]}, "checks[0].metric"),  # m reports none
        ({"checks": [{"kind": "min_rows", "value": "ten"}]}, "checks[0].value"),
        ({"checks": [{"kind": "min_rows", "value": 5, "blocking": "yes"}]}, "checks[0].blocking"),
        ({"checks": [{"kind": "min_rows", "value": 5, "metric": "x"}]}, "checks[0].metric"),
        ({"checks": [{"kind": "fairness", "metric": "accuracy", "value": 0.1}]}, "checks[0].metric"),
        ({"checks": {"kind": "min_rows"}}, "checks"),
        ({}, "checks"),
    ]
    for body, field in cases:
        response = owner_api.put("/api/registered-models/m/gates/", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert response.json()["field"] == field, (body, response.json())
    assert "rocket_score" in owner_api.put("/api/registered-models/m/gates/", cases[1][0], format="json").json()[
        "detail"
    ]
    assert owner_api.get("/api/registered-models/m/gates/").json() == {"checks": []}


def test_a_warn_only_gate_never_blocks_and_a_blocking_one_names_itself(live, owner_api):
    owner_api.put("/api/registered-models/m/gates/",
                  {"checks": [{"kind": "min_rows", "value": 1000, "blocking": False}]}, format="json")
    ok = owner_api.post("/api/registered-models/m/versions/2/promote/", {"alias": "staging"}, format="json")
    assert ok.status_code == 200 and ok.json()["gates"][0]["passed"] is False
    owner_api.put("/api/registered-models/m/gates/",
                  {"checks": [{"kind": "min_rows", "value": 1000, "blocking": True}]}, format="json")
    blocked = owner_api.post("/api/registered-models/m/versions/1/promote/", {"alias": "staging"}, format="json")
    assert blocked.status_code == 422
    assert blocked.json()["failed"][0]["kind"] == "min_rows"
    assert "trained on 6 rows" in blocked.json()["failed"][0]["detail"]
    assert owner_api.get("/api/registered-models/m/").json()["aliases"]["staging"] == 2


def test_roles_and_workspaces_apply_to_gates_promotion_history_and_traffic(live, owner, make_user, outsider_api):
    viewer = make_user("viewer")
    Membership.objects.create(workspace=Workspace.objects.get(personal_owner=owner), user=viewer, role=Role.VIEWER)
    viewer_api = api_client_for(viewer)
    assert viewer_api.get("/api/registered-models/m/").status_code == 200
    assert viewer_api.get("/api/registered-models/m/history/").status_code == 200
    assert viewer_api.get("/api/registered-models/m/gates/").status_code == 200
    assert viewer_api.put("/api/registered-models/m/gates/", {"checks": []}, format="json").status_code == 403
    assert viewer_api.post("/api/registered-models/m/versions/2/promote/", {"alias": "champion"},
                           format="json").status_code == 403
    assert viewer_api.put("/api/deployments/live/traffic/", {"shadow": "challenger"},
                          format="json").status_code == 403
    for method, url, body in [
        ("get", "/api/registered-models/m/", None),
        ("get", "/api/registered-models/m/history/", None),
        ("put", "/api/registered-models/m/gates/", {"checks": []}),
        ("post", "/api/registered-models/m/versions/1/promote/", {"alias": "champion"}),
        ("put", "/api/deployments/live/traffic/", {}),
    ]:
        response = getattr(outsider_api, method)(url, body, format="json")
        assert response.status_code == 404, (url, response.content)


def test_promoting_a_version_the_model_does_not_have_is_a_404_and_a_bad_alias_a_400(live, owner_api):
    missing = owner_api.post("/api/registered-models/m/versions/9/promote/", {"alias": "champion"}, format="json")
    assert missing.status_code == 404 and missing.json()["field"] == "version"
    bad = owner_api.post("/api/registered-models/m/versions/1/promote/", {"alias": "no spaces!"}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "alias"
    no_alias = owner_api.post("/api/registered-models/m/versions/1/promote/", {}, format="json")
    assert no_alias.status_code == 400 and no_alias.json()["field"] == "alias"


def test_beat_runs_the_rollout_check_and_rolls_a_failing_canary_back_on_its_own(
    owner, owner_api, celery_worker_process, artifact_root, tmp_path
):
    _register(owner_api, trained_run(owner, ["a", "b"]))
    _register(owner_api, trained_run(owner, ["a", "b", "c"]))  # needs a column clients do not send
    _promote(owner_api, 1, "champion")
    _promote(owner_api, 2, "challenger")
    owner_api.post("/api/deployments/", {"name": "live", "model": "m", "alias": "champion"}, format="json")
    key = owner_api.post("/api/deployments/live/keys/", {}, format="json").json()["key"]
    _traffic(owner_api, {"split": {"champion": 50, "challenger": 50}})
    for _ in range(200):  # ~100 a side: past the worker's ROLLOUT_MIN_REQUESTS (50) on both
        _predict(key)
    prediction_logs_flush()

    beat = start_beat(tmp_path, artifact_root, env={"ROLLOUT_CHECK_SECONDS": "1"})
    try:
        deadline = time.monotonic() + 60
        while "split" in owner_api.get("/api/deployments/live/traffic/").json():
            assert time.monotonic() < deadline, "beat did not roll the canary back"
            time.sleep(0.5)
    finally:
        stop_worker(beat)
    change = TrafficChange.objects.filter(deployment__name="live").first()
    assert change.automatic and "error rate" in change.reason


def test_promotion_events_cannot_be_changed(live):
    event = PromotionEvent.objects.filter(alias="champion").first()
    event.reason = "rewritten"
    with pytest.raises(ImmutableError):
        event.save()
    assert PromotionEvent.objects.get(pk=event.pk).reason == ""


def test_deploying_a_version_pinned_runs_the_gates_too_and_an_admin_may_override(live, owner, owner_api, make_user):
    owner_api.put("/api/registered-models/m/gates/", {"checks": [{"kind": "min_rows", "value": 1000}]}, format="json")
    v2 = owner_api.get("/api/registered-models/m/").json()["versions"][0]
    blocked = owner_api.post("/api/deployments/", {"name": "pinned", "model_version": v2["id"]}, format="json")
    assert blocked.status_code == 422 and blocked.json()["failed"][0]["kind"] == "min_rows"
    assert owner_api.get("/api/deployments/pinned/").status_code == 404

    editor = make_user("editor")
    Membership.objects.create(workspace=Workspace.objects.get(personal_owner=owner), user=editor, role=Role.EDITOR)
    refused = api_client_for(editor).post(
        "/api/deployments/", {"name": "pinned", "model_version": v2["id"], "override": True, "reason": "x"},
        format="json")
    assert refused.status_code == 403 and refused.json()["field"] == "override"
    forced = owner_api.post("/api/deployments/", {"name": "pinned", "model_version": v2["id"], "override": True,
                                                  "reason": "load test"}, format="json")
    assert forced.status_code == 201, forced.content
    assert forced.json()["alias"] is None and forced.json()["model_version"]["version"] == 2


def test_the_open_inference_protocol_follows_the_split_too_sticky_on_the_request_id(live, owner_api):
    _traffic(owner_api, {"split": {"champion": 50, "challenger": 50}})
    headers = {"Authorization": f"Bearer {live['key']}", "Content-Type": "application/json"}

    def infer(request_id: str) -> str:
        body = {"id": request_id, "inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1.0]},
                                             {"name": "b", "shape": [1], "datatype": "FP64", "data": [1.0]}]}
        status, out, _ = asgi_request("POST", "/v2/models/live/infer", headers=headers, body=json.dumps(body).encode())
        assert status == 200, out
        return out["model_version"]

    answers = {f"id-{i}": infer(f"id-{i}") for i in range(60)}
    assert set(answers.values()) == {"1", "2"}
    assert all(infer(request_id) == version for request_id, version in list(answers.items())[:10])


def test_a_manual_rollback_pins_the_version_so_the_next_promotion_does_not_undo_it(live, owner, owner_api):
    _register(owner_api, trained_run(owner, ["a", "b"]))
    _promote(owner_api, 3, "champion")  # the deployment follows: v1 → v3
    assert Deployment.objects.get(name="live").current_revision.model_version.number == 3

    rolled = owner_api.post("/api/deployments/live/rollback/", {}, format="json")
    assert rolled.status_code == 200, rolled.content
    deployment = Deployment.objects.get(name="live")
    assert deployment.current_revision.model_version.number == 1
    assert (deployment.model_id, deployment.alias) == (None, "")

    _promote(owner_api, 2, "champion")
    deployment.refresh_from_db()
    assert deployment.current_revision.model_version.number == 1  # still the rolled-back version
    assert AuditEvent.objects.get(action="deployment.rollback").details["unfollowed"] == "m:champion"
    # Following again is an explicit choice.
    again = owner_api.post("/api/deployments/", {"name": "live", "model": "m", "alias": "champion"}, format="json")
    assert again.status_code == 200, again.content
    assert Deployment.objects.get(name="live").current_revision.model_version.number == 2

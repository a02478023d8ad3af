"""Gates and promotion on models from real runs (PostgreSQL, Redis, a real Celery worker).

A good model (scaled logistic regression) and a deliberately worse one (the same
without scaling and with C=1e-6, so it predicts the majority class) are trained by
real runs, registered under one name, and promoted through the API.
"""

from __future__ import annotations

import json

import pytest

from pipelines.demo import DEMO_PIPELINES
from pipelines.models import Membership, ModelAlias, PromotionEvent, Role
from tests.conftest import api_client_for, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("fresh_serving")]


def _graph(*, worse: bool) -> dict:
    graph = DEMO_PIPELINES[0]["graph"]()  # breast cancer: scale → logistic regression → train → evaluate
    if worse:
        for node in graph["nodes"]:
            if node["id"] == "logreg":
                node["params"]["C"] = 1e-6
    return graph


def _train_and_register(client, *, worse: bool) -> dict:
    pipeline = client.post("/api/pipelines/", {"name": "worse" if worse else "good", "graph": _graph(worse=worse)},
                           format="json").json()
    run_id = client.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").json()["id"]
    run = wait_for_run(client, run_id)
    assert run["status"] == "succeeded", run["error"]
    version = client.post("/api/models/", {"name": "bc", "run": run_id, "node": "train"}, format="json")
    assert version.status_code == 201, version.content
    return version.json()


def _predict(client, row: dict) -> dict:
    response = client.post("/api/deployments/bc-live/predict", json.dumps({"instances": [row]}),
                           content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


GATES = {"checks": [
    {"kind": "metric_min", "metric": "accuracy", "value": 0.5, "blocking": True},
    {"kind": "no_regression", "metric": "accuracy", "tolerance": 0.02, "blocking": True},
    {"kind": "schema_compatible", "blocking": True},
    {"kind": "min_rows", "value": 100, "blocking": True},
    {"kind": "latency_p95_ms", "value": 1000, "blocking": False},
    {"kind": "fairness", "metric": "demographic_parity_difference", "value": 0.1, "blocking": False},
]}


def test_gates_block_a_worse_model_from_a_real_run_and_an_admin_override_is_recorded(
    owner, owner_api, make_user, celery_worker_process
):
    good = _train_and_register(owner_api, worse=False)
    worse = _train_and_register(owner_api, worse=True)
    assert (good["name"], good["version"], worse["version"]) == ("bc", 1, 2)
    good_accuracy = good["metrics"]["evaluate"]["accuracy"]
    worse_accuracy = worse["metrics"]["evaluate"]["accuracy"]
    assert worse_accuracy < good_accuracy - 0.05  # the premise: v2 really is worse

    gates = owner_api.put("/api/registered-models/bc/gates/", GATES, format="json")
    assert gates.status_code == 200, gates.content
    assert [g["kind"] for g in owner_api.get("/api/registered-models/bc/gates/").json()["checks"]] == [
        g["kind"] for g in GATES["checks"]
    ]

    # v1 passes every blocking gate; the fairness gate (warn-only) fails without a report.
    first = owner_api.post("/api/registered-models/bc/versions/1/promote/",
                           {"alias": "champion", "reason": "first model"}, format="json")
    assert first.status_code == 200, first.content
    results = {g["kind"]: g for g in first.json()["gates"]}
    assert all(results[k]["passed"] for k in ("metric_min", "no_regression", "schema_compatible", "min_rows"))
    assert results["fairness"] == {**results["fairness"], "passed": False,
                                   "detail": "no fairness report for this version"}
    assert "one-row predictions" in results["latency_p95_ms"]["detail"]

    # A deployment following the alias serves v1 and says so.
    deployed = owner_api.post("/api/deployments/", {"name": "bc-live", "model": "bc", "alias": "champion"},
                              format="json")
    assert deployed.status_code == 201, deployed.content
    assert deployed.json()["alias"] == "champion"
    row = good["signature"]["example"]
    answer = _predict(owner_api, row)
    assert (answer["model"], answer["model_version"]) == ("bc", 1)
    revision_before = answer["revision"]

    # v2 is blocked by the regression gate, and nothing changes.
    blocked = owner_api.post("/api/registered-models/bc/versions/2/promote/",
                             {"alias": "champion", "reason": "retrained"}, format="json")
    assert blocked.status_code == 422, blocked.content
    body = blocked.json()
    assert [g["kind"] for g in body["failed"]] == ["no_regression"]
    assert "no_regression" in body["detail"]
    regression = next(g for g in body["gates"] if g["kind"] == "no_regression")
    assert f"{worse_accuracy:.4g}" in regression["detail"] and "regressed" in regression["detail"]
    assert ModelAlias.objects.get(alias="champion").model_version.number == 1
    assert PromotionEvent.objects.count() == 1
    assert _predict(owner_api, row)["model_version"] == 1

    # An editor may not override; an admin must give a reason; then it is recorded.
    editor = make_user("editor")
    Membership.objects.create(workspace_id=good["workspace"], user=editor, role=Role.EDITOR)
    editor_api = api_client_for(editor)
    refused = editor_api.post("/api/registered-models/bc/versions/2/promote/",
                              {"alias": "champion", "reason": "ship it", "override": True}, format="json")
    assert refused.status_code == 403 and refused.json()["field"] == "override"
    no_reason = owner_api.post("/api/registered-models/bc/versions/2/promote/",
                               {"alias": "champion", "override": True}, format="json")
    assert no_reason.status_code == 400 and no_reason.json()["field"] == "reason"
    forced = owner_api.post("/api/registered-models/bc/versions/2/promote/",
                            {"alias": "champion", "reason": "hotfix for a data bug", "override": True},
                            format="json")
    assert forced.status_code == 200, forced.content
    assert forced.json()["override"] is True and forced.json()["from_version"] == 1

    # The deployment following the alias now serves v2: a new revision, no restart.
    answer = _predict(owner_api, row)
    assert answer["model_version"] == 2 and answer["revision"] == revision_before + 1
    revisions = owner_api.get("/api/deployments/bc-live/").json()["revisions"]
    assert revisions[0]["action"] == "promote" and revisions[0]["version"] == 2

    history = owner_api.get("/api/registered-models/bc/history/").json()["results"]
    assert [(e["alias"], e["from_version"], e["to_version"], e["override"], e["who"]) for e in history] == [
        ("champion", 1, 2, True, "owner"),
        ("champion", None, 1, False, "owner"),
    ]
    assert history[0]["reason"] == "hotfix for a data bug"
    assert any(g["kind"] == "no_regression" and not g["passed"] for g in history[0]["gates"])
    assert history[0]["when"]

    model = owner_api.get("/api/registered-models/bc/").json()
    assert model["aliases"] == {"champion": 2}
    assert [(v["name"], v["version"]) for v in model["versions"]] == [("bc", 2), ("bc", 1)]
    assert model["deployments"] == [{"name": "bc-live", "alias": "champion", "version": 2, "traffic": {}}]

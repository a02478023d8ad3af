"""A multiclass model mitigated on a real worker, registered, deployed and asked twice (and
asked to explain itself: a 422 saying why not); its fairness report, a fairness gate that lets
it through and stops the plain model, and its card; bad training data for the mitigation fails
its step with the reason."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from pipelines.graph.builder import GraphBuilder
from tests.conftest import wait_for_run
from tests.integration.serving_factories import asgi_request
from tests.rai_tiers import TIERS, tiers_table

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("fresh_serving")]


def _mitigated_run(api: APIClient, table, *, judged: bool = False) -> dict:
    """Train the mitigated model; ``judged``: also a plain one (without ``group``) and a
    ``rai.fairness`` report of each on the test rows."""
    csv = table.to_csv(index=False).encode()
    upload = api.post(
        "/api/datasets/",
        {"file": SimpleUploadedFile("tiers.csv", csv, content_type="text/csv")},
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    graph = (
        GraphBuilder()
        .node("load", "dataset.upload", dataset=upload.json()["sha256"])
        .node("split", "data.split", test_size=0.3, stratify_column="tier", seed=0)
        .node("logreg", "sklearn.linear_model.LogisticRegression", max_iter=1000)
        .node("mitigate", "rai.mitigate", sensitive_column="group")
        .node("train", "model.train", target="tier")
        .node("evaluate", "model.evaluate")
        .edge("load.table", "split.table")
        .edge("logreg.estimator", "mitigate.estimator")
        .edge("mitigate.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .edge("train.model", "evaluate.model")
        .edge("split.test", "evaluate.table")
    )
    if judged:
        graph = (
            graph.node("logreg_plain", "sklearn.linear_model.LogisticRegression", max_iter=1000)
            .node("train_plain", "model.train", target="tier", exclude=["group"])
            .node("fairness", "rai.fairness", sensitive_column="group")
            .node("fairness_plain", "rai.fairness", sensitive_column="group")
            .edge("logreg_plain.estimator", "train_plain.estimator")
            .edge("split.train", "train_plain.table")
            .edge("train.model", "fairness.model")
            .edge("split.test", "fairness.table")
            .edge("train_plain.model", "fairness_plain.model")
            .edge("split.test", "fairness_plain.table")
        )
    graph = graph.build()
    created = api.post("/api/pipelines/", {"name": "tiers", "graph": graph}, format="json")
    assert created.status_code == 201, created.content
    started = api.post(f"/api/pipelines/{created.json()['id']}/runs/", {}, format="json")
    assert started.status_code == 201, started.content
    return wait_for_run(api, started.json()["id"], timeout=240)


def test_a_mitigated_multiclass_model_is_served_and_answers_the_same_twice(
    owner_api, celery_worker_process
):
    table = tiers_table(600, seed=0)
    run = _mitigated_run(owner_api, table)
    assert run["status"] == "succeeded", run["error"]

    version = owner_api.post(
        "/api/models/", {"name": "tiers", "run": run["id"], "node": "train"}, format="json"
    )
    assert version.status_code == 201, version.content
    deployed = owner_api.post(
        "/api/deployments/", {"name": "tiers", "model_version": version.json()["id"]}, format="json"
    )
    assert deployed.status_code == 201, deployed.content
    key = owner_api.post("/api/deployments/tiers/keys/", {"name": "ci"}, format="json").json()[
        "key"
    ]
    caller = APIClient()
    caller.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    rows = table.drop(columns=["tier"]).head(40).to_dict("records")
    body = json.dumps({"instances": rows})

    answers = [
        caller.generic(
            "POST", "/api/deployments/tiers/predict", body, content_type="application/json"
        )
        for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [200, 200], answers[0].content
    first, second = (a.json() for a in answers)
    assert first["predictions"] == second["predictions"]
    assert set(first["predictions"]) <= set(TIERS) and len(set(first["predictions"])) > 1
    # The group is an input of the served model: the mitigation reads it at prediction time.
    without = caller.generic(
        "POST",
        "/api/deployments/tiers/predict",
        json.dumps({"instances": [{k: v for k, v in rows[0].items() if k != "group"}]}),
        content_type="application/json",
    )
    assert without.status_code == 422 and "group" in without.content.decode()
    # A mixture of fitted models has no TreeSHAP or coefficients: refused, saying why and what to use.
    explain = "/api/deployments/tiers/predict?explain=true"
    refused = caller.generic("POST", explain, body, content_type="application/json")
    assert refused.status_code == 422 and refused.json()["field"] == "explain"
    detail = refused.json()["detail"]
    assert "mitigated for fairness" in detail and "explain.permutation_importance" in detail
    status, out, _ = asgi_request(
        "POST", explain, headers={"Authorization": f"Bearer {key}"}, body=body.encode()
    )
    assert (status, out["field"], out["detail"]) == (422, "explain", detail)


def _report(run: dict, node: str) -> dict:
    step = next(s for s in run["steps"] if s["node_id"] == node)
    assert step["status"] == "succeeded", step["error"]
    return step["summary"]["outputs"]["report"]


def test_the_mitigated_multiclass_model_passes_the_fairness_gate_the_plain_one_fails_and_its_card_shows_why(
    owner_api, celery_worker_process
):
    run = _mitigated_run(owner_api, tiers_table(1200, seed=0), judged=True)
    assert run["status"] == "succeeded", run["error"]
    fair, plain = _report(run, "fairness"), _report(run, "fairness_plain")
    for report in (fair, plain):
        assert report["classes"] == sorted(TIERS) and set(report["by_group"]) == {"0", "1"}
        worst = report["worst_class"]["demographic_parity_difference"]
        assert report["demographic_parity_difference"] == pytest.approx(
            report["by_class"][worst]["demographic_parity_difference"]
        )
    # Measured on this seeded table: plain 0.174, mitigated 0.088.
    assert fair["demographic_parity_difference"] < 0.12 < plain["demographic_parity_difference"]

    for node in ("train_plain", "train"):
        registered = owner_api.post(
            "/api/models/", {"name": "tiers", "run": run["id"], "node": node}, format="json"
        )
        assert registered.status_code == 201, registered.content
    gate = {"kind": "fairness", "metric": "demographic_parity_difference", "value": 0.12}
    gates = owner_api.put(
        "/api/registered-models/tiers/gates/",
        {"checks": [{**gate, "blocking": True}]},
        format="json",
    )
    assert gates.status_code == 200, gates.content
    promote = "/api/registered-models/tiers/versions/{}/promote/"
    refused = owner_api.post(promote.format(1), {"alias": "champion"}, format="json")
    assert refused.status_code == 422, refused.content
    [failed] = refused.json()["gates"]
    worst = plain["worst_class"]["demographic_parity_difference"]
    assert failed["passed"] is False
    assert failed["detail"] == (
        f"demographic_parity_difference {plain['demographic_parity_difference']:.4g} "
        f"(class {worst!r}, the worst of 3 classes) > 0.12"
    )
    promoted = owner_api.post(promote.format(2), {"alias": "champion"}, format="json")
    assert promoted.status_code == 200, promoted.content
    assert promoted.json()["gates"][0]["passed"] is True

    card = owner_api.get("/api/registered-models/tiers/versions/2/card/?format=json")
    assert card.status_code == 200, card.content
    [shown] = card.json()["fairness"]
    assert shown["node"] == "fairness" and shown["sensitive"] == "group"
    for name in (
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
    ):
        assert shown[name] == fair[name]
    assert shown["note"] == fair["note"] and "worst over the classes" in shown["note"]
    by_group = {
        (m["type"], m["slice"]): m["value"]
        for m in card.json()["quantitative_analysis"]["by_group"]
    }
    assert by_group[("accuracy", "1")] == fair["by_group"]["1"]["accuracy"]
    markdown = owner_api.get(
        "/api/registered-models/tiers/versions/2/card/?format=md"
    ).content.decode()
    assert f"demographic parity difference {fair['demographic_parity_difference']:.4g}" in markdown
    assert fair["note"] in markdown
    html = owner_api.get(
        "/api/registered-models/tiers/versions/2/card/?format=html"
    ).content.decode()
    assert 'data-testid="card-fairness-note"' in html


def test_a_group_with_one_row_fails_the_training_step_with_the_reason(
    owner_api, celery_worker_process
):
    table = tiers_table(600, seed=0)
    table.loc[table.index[0], "group"] = 7

    run = _mitigated_run(owner_api, table)

    assert run["status"] == "failed"
    step = next(s for s in run["steps"] if s["node_id"] == "train")
    assert step["status"] == "failed"
    assert "'7' (1 row(s))" in step["error"] and "at least 10 training rows" in step["error"]

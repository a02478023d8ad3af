"""The loans demo on a real Celery worker: both bias reports, a plain and a mitigated model,
explanations, and the run page that draws them."""

import pytest

from pipelines.demo import DEMO_PIPELINES, loans_graph
from tests.conftest import wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LOANS = next(spec for spec in DEMO_PIPELINES if spec["graph"] is loans_graph)


def _report(run: dict, node: str) -> dict:
    step = next(s for s in run["steps"] if s["node_id"] == node)
    assert step["status"] == "succeeded", step["error"]
    return step["summary"]["outputs"]["report"]


def test_the_loans_demo_reports_the_planted_bias_and_a_fairer_model_next_to_the_plain_one(
    owner, owner_api, client, celery_worker_process
):
    created = owner_api.post("/api/pipelines/", {"name": LOANS["name"], "graph": LOANS["graph"]()}, format="json")
    assert created.status_code == 201, created.content
    started = owner_api.post(f"/api/pipelines/{created.json()['id']}/runs/", {}, format="json")
    run = wait_for_run(owner_api, started.json()["id"], timeout=240)

    assert run["status"] == "succeeded", run["error"]
    data = _report(run, "data_bias")
    assert data["kind"] == "bias"
    assert data["by_group"]["1"]["label_rate"] < data["by_group"]["0"]["label_rate"]
    assert data["label_rate_difference"] > 0.1
    plain, fair = _report(run, "fairness"), _report(run, "fairness_fair")
    for report in (plain, fair):
        assert report["kind"] == "fairness"
        assert set(report["by_group"]) == {"0", "1"}
        assert {"demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference"} <= set(report)
    assert plain["demographic_parity_ratio"] < 0.8 < fair["demographic_parity_ratio"]
    assert plain["ci"]["demographic_parity_difference"][0] > 0  # the gap is not noise
    for node in ("importance", "shap"):
        explained = _report(run, node)
        assert explained["kind"] == "explanation"
        assert explained["importances"][0]["feature"] == "credit_score"

    client.force_login(owner)
    html = client.get(f"/runs/{run['id']}/").content.decode()
    assert html.count('class="block rai-report"') == 5
    assert "demographic_parity_ratio" in html and "label_rate_difference" in html
    assert "data-vega-chart" in html

    # The fairness gate reads each version's own rai.fairness report: the four-fifths
    # rule blocks the plain model and lets the mitigated one through.
    for node in ("train", "train_fair"):
        registered = owner_api.post("/api/models/", {"name": "loans", "run": run["id"], "node": node}, format="json")
        assert registered.status_code == 201, registered.content
    gates = owner_api.put(
        "/api/registered-models/loans/gates/",
        {"checks": [{"kind": "fairness", "metric": "demographic_parity_ratio", "value": 0.8, "blocking": True}]},
        format="json",
    )
    assert gates.status_code == 200, gates.content
    refused = owner_api.post("/api/registered-models/loans/versions/1/promote/", {"alias": "champion"}, format="json")
    assert refused.status_code == 422, refused.content
    assert [g["kind"] for g in refused.json()["gates"] if not g["passed"]] == ["fairness"]
    promoted = owner_api.post("/api/registered-models/loans/versions/2/promote/", {"alias": "champion"}, format="json")
    assert promoted.status_code == 200, promoted.content
    assert promoted.json()["gates"][0]["passed"] is True

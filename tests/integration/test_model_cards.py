"""Model cards written from lineage: JSON, Markdown and printable HTML; editable, versioned, diffable.

The model is a real signed artifact from a run made directly (``world.trained_run``);
the run's RAI steps carry reports in the shape the ``rai.*``/``explain.*`` blocks store
(``summary["outputs"]["report"]``), so the card must find them by block key and lineage.
"""

from __future__ import annotations

import pytest

from pipelines.models import AuditEvent, Dataset, Membership, Role, StepRun, StepStatus
from tests.conftest import api_client_for
from tests.integration.world import personal, trained_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("fresh_serving")]

CARD = "/api/registered-models/m/versions/{n}/card/"
FAIRNESS = {
    "sensitive_column": "group",
    "by_group": {"A": {"selection_rate": 0.62, "accuracy": 0.81}, "B": {"selection_rate": 0.31, "accuracy": 0.77}},
    "demographic_parity_difference": 0.31, "demographic_parity_ratio": 0.5, "equalized_odds_difference": 0.22,
}
IMPORTANCES = [{"feature": "b", "importance": 0.05, "std": 0.01}, {"feature": "a", "importance": 0.4, "std": 0.02}]


def _with_rai_steps(run) -> None:
    StepRun.objects.create(run=run, node_id="fair", block_key="rai.fairness", block_version="1", position=2,
                           status=StepStatus.SUCCEEDED, inputs={"model": ["train", "model"], "table": ["load", "table"]},
                           params={"sensitive_column": "group"}, summary={"outputs": {"report": FAIRNESS}})
    StepRun.objects.create(run=run, node_id="perm", block_key="explain.permutation_importance", block_version="1",
                           position=3, status=StepStatus.SUCCEEDED, inputs={"model": ["train", "model"]},
                           summary={"outputs": {"report": {"importances": IMPORTANCES}}})
    # A report that failed, and one about another model, must not show.
    StepRun.objects.create(run=run, node_id="fair2", block_key="rai.fairness", block_version="1", position=4,
                           status=StepStatus.FAILED, inputs={"model": ["train", "model"]},
                           summary={"outputs": {"report": {**FAIRNESS, "demographic_parity_ratio": 0.01}}})
    StepRun.objects.create(run=run, node_id="other", block_key="explain.shap", block_version="1", position=5,
                           status=StepStatus.SUCCEEDED, inputs={"model": ["train2", "model"]},
                           summary={"outputs": {"report": {"importances": [{"feature": "zzz", "importance": 9}]}}})


def test_card_comes_from_lineage_with_rai_reports_and_training_data_hashes(owner, owner_api):
    run = trained_run(owner)
    _with_rai_steps(run)
    load = StepRun.objects.get(run=run, node_id="load")
    sha = load.outputs["table"]["sha256"]
    Dataset.objects.create(workspace=personal(owner), name="loans", version=3, artifact_id=sha, filename="l.csv",
                           n_rows=4, columns=[], preview={}, created_by=owner)
    v1 = owner_api.post("/api/models/", {"name": "m", "run": run.pk, "node": "train"}, format="json").json()

    card = owner_api.get(CARD.format(n=1)).json()
    details = card["model_details"]
    assert (details["name"], details["version"]["number"], details["version"]["id"]) == ("m", 1, v1["id"])
    assert details["owners"] == [{"name": "owner", "contact": ""}]
    assert details["lineage"] == {"run": run.pk, "pipeline_version": run.pipeline_version_id, "node": "train"}
    assert details["artifact_sha256"] == StepRun.objects.get(run=run, node_id="train").outputs["model"]["sha256"]
    data = card["model_parameters"]["data"]
    assert data["datasets"] == [{"node": "load", "block": "dataset.builtin", "name": "loans", "version": 3,
                                 "sha256": sha, "rows": 4}]
    assert data["training_table"] == {"sha256": sha, "rows": 4}
    assert (data["features"], data["target"]) == (["a", "b"], "target")

    [fair] = card["fairness"]
    assert fair == {"node": "fair", "sensitive": "group", "demographic_parity_difference": 0.31,
                    "demographic_parity_ratio": 0.5, "equalized_odds_difference": 0.22}
    by_group = {(r["type"], r["slice"]): r["value"] for r in card["quantitative_analysis"]["by_group"]}
    assert by_group[("selection_rate", "A")] == 0.62 and by_group[("accuracy", "B")] == 0.77
    [explained] = card["explainability"]["top_features"]
    assert [f["feature"] for f in explained["features"]] == ["a", "b"]  # ranked by importance
    assert card["monitoring"] == []  # not deployed
    assert card["revision"]["number"] == 0 and card["revision"]["generated"] is True
    assert card["considerations"]["intended_use"]  # the text written at registration

    owner_api.post("/api/deployments/", {"name": "card-live", "model_version": v1["id"]}, format="json")
    [serving] = owner_api.get(CARD.format(n=1)).json()["monitoring"]
    assert serving["deployment"] == "card-live" and serving["status"] == "insufficient_data"

    markdown = owner_api.get(CARD.format(n=1), {"format": "md"})
    assert markdown.status_code == 200 and markdown["Content-Type"].startswith("text/markdown")
    text = markdown.content.decode()
    assert "# Model card: m v1" in text and "demographic parity ratio 0.5" in text and sha in text
    html = owner_api.get(CARD.format(n=1), {"format": "html"})
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    page = html.content.decode()
    assert "<!doctype html>" in page and "@media print" in page and 'data-testid="card-fairness"' in page
    assert "fails" in page  # 0.5 < 0.8: the four-fifths rule


def test_a_card_without_rai_steps_shows_nothing_made_up(owner, owner_api):
    run = trained_run(owner)
    owner_api.post("/api/models/", {"name": "m", "run": run.pk, "node": "train"}, format="json")
    card = owner_api.get(CARD.format(n=1)).json()
    assert card["fairness"] == [] and card["data_bias"] == []
    assert card["explainability"]["top_features"] == []
    assert card["quantitative_analysis"] == {"performance_metrics": [], "by_group": []}
    page = owner_api.get(CARD.format(n=1), {"format": "html"}).content.decode()
    assert "No fairness report" in page and "No explanation step" in page and "Not deployed" in page


def test_edits_are_revisions_by_editors_only_and_diffable(owner, owner_api, make_user, outsider_api):
    workspace = personal(owner)
    run = trained_run(owner)
    owner_api.post("/api/models/", {"name": "m", "run": run.pk, "node": "train"}, format="json")
    owner_api.post("/api/models/", {"name": "m", "run": run.pk, "node": "train"}, format="json")
    viewer = make_user("vic")
    Membership.objects.create(workspace=workspace, user=viewer, role=Role.VIEWER)
    url = CARD.format(n=1)

    assert api_client_for(viewer).get(url).status_code == 200
    assert api_client_for(viewer).put(url, {"limitations": "x"}, format="json").status_code == 403
    assert outsider_api.get(url).status_code == 404

    generated = owner_api.get(url).json()["considerations"]
    edited = owner_api.put(url, {"ethical_considerations": "Scores people; review group gaps."}, format="json")
    assert edited.status_code == 200, edited.content
    assert edited.json()["revision"]["number"] == 1 and edited.json()["revision"]["by"] == "owner"
    assert edited.json()["considerations"] == {**generated, "ethical_considerations": "Scores people; review group gaps."}
    owner_api.patch(url, {"intended_use": "Pilot only."}, format="json")
    assert owner_api.get(url).json()["considerations"]["intended_use"] == "Pilot only."
    assert owner_api.get(url, {"revision": 0}).json()["considerations"] == generated
    assert owner_api.get(url, {"revision": 1}).json()["considerations"]["intended_use"] == generated["intended_use"]
    revisions = owner_api.get(url + "revisions/").json()
    assert [r["number"] for r in revisions] == [2, 1, 0]
    assert AuditEvent.objects.filter(action="model.card_edit").count() == 2

    diff = owner_api.get(url + "diff/", {"revision": 0, "to_revision": 2}).json()
    assert {c["path"] for c in diff["changes"]} == {"considerations.intended_use",
                                                   "considerations.ethical_considerations"}
    assert diff["from"] == {"version": 1, "revision": 0} and diff["to"] == {"version": 1, "revision": 2}
    across = owner_api.get(url + "diff/", {"to_version": 2}).json()
    assert across["to"] == {"version": 2, "revision": 0}
    assert "considerations.intended_use" in {c["path"] for c in across["changes"]}

    for method, params, body, field in (
        ("get", {"format": "pdf"}, None, "format"),
        ("get", {"revision": 9}, None, "revision"),
        ("get", {"revision": -1}, None, "revision"),
        ("get", {"revision": "x"}, None, "revision"),
        ("put", {}, {"intended_use": 5}, "intended_use"),
        ("put", {}, {"limitations": "x" * 20001}, "limitations"),
    ):
        if method == "get":
            bad = owner_api.get(url, params)
        else:
            bad = owner_api.put(url, body, format="json")
        assert bad.status_code in (400, 404), (params, body, bad.content)
        assert field in bad.content.decode(), (params, body, bad.content)
    latest = owner_api.get(url + "diff/").json()  # by default: what the latest revision changed
    assert (latest["from"], latest["to"]) == ({"version": 1, "revision": 1}, {"version": 1, "revision": 2})
    assert [c["path"] for c in latest["changes"]] == ["considerations.intended_use"]
    assert owner_api.put(url, {}, format="json").json()["revision"]["number"] == 2  # nothing sent: no revision
    assert owner_api.get(CARD.format(n=7)).status_code == 404

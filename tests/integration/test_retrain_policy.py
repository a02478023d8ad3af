"""The retrain policy's API and its decisions that need no worker: bad input, one retrain at a
time, a policy whose user lost the right to run pipelines. (Runs on a real worker:
``test_alerts_on_worker``.)"""

from __future__ import annotations

import pytest

from pipelines.graph.builder import GraphBuilder
from pipelines.models import AlertRule, Deployment, Membership, Pipeline, RetrainRun, Run, RunStatus
from pipelines.services.alerts import alert_rules_evaluate
from tests.conftest import api_client_for
from tests.integration.alert_windows import window

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _training_pipeline(workspace, user, name="retrainer") -> Pipeline:
    graph = (
        GraphBuilder()
        .node("load", "dataset.builtin", name="iris")
        .node("logreg", "sklearn.linear_model.LogisticRegression")
        .node("train", "model.train", target="target")
        .edge("load.table", "train.table")
        .edge("logreg.estimator", "train.estimator")
        .build()
    )
    return Pipeline.objects.create(workspace=workspace, name=name, graph=graph, created_by=user)


def test_an_editor_sets_reads_and_removes_a_retrain_policy(world, owner, owner_api):
    pipeline = _training_pipeline(world["workspace"], owner)

    response = owner_api.put("/api/deployments/dep/retrain/", {"pipeline": pipeline.pk}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["pipeline"], sorted(body["on"]), body["consecutive"], body["cooldown_hours"]) == (
        pipeline.pk, ["drift", "performance"], 2, 24)
    assert body["user"] == "owner" and body["runs"] == [] and body["auto_champion"] is False

    assert owner_api.get("/api/deployments/dep/retrain/").json()["pipeline"] == pipeline.pk
    assert owner_api.delete("/api/deployments/dep/retrain/").status_code == 204
    # without a policy: pipeline null, the policy's fields absent (as documented), runs kept
    assert owner_api.get("/api/deployments/dep/retrain/").json() == {"pipeline": None, "runs": []}


def test_automatic_promotion_to_champion_is_opted_into_on_the_policy(world, owner, owner_api):
    pipeline = _training_pipeline(world["workspace"], owner)

    response = owner_api.put("/api/deployments/dep/retrain/", {"pipeline": pipeline.pk, "auto_champion": True},
                             format="json")

    assert response.status_code == 200, response.content
    assert owner_api.get("/api/deployments/dep/retrain/").json()["auto_champion"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"on": ["latency"]}, "on"),
        ({"on": []}, "on"),
        ({"consecutive": 0}, "consecutive"),
        ({"cooldown_hours": -1}, "cooldown_hours"),
        ({"cooldown_hours": "soon"}, "cooldown_hours"),
        ({"pipeline": "1"}, "pipeline"),
        ({"pipeline": 987654}, "pipeline"),
        ({"auto_champion": "yes"}, "auto_champion"),
    ],
)
def test_bad_retrain_policies_are_a_400_naming_the_field(world, owner, owner_api, change, field):
    pipeline = _training_pipeline(world["workspace"], owner)

    response = owner_api.put("/api/deployments/dep/retrain/", {"pipeline": pipeline.pk, **change}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["field"] == field


def test_the_pipeline_must_be_in_the_deployments_workspace_and_train_a_model(world, owner, outsider, owner_api):
    from pipelines.models import Role
    from tests.integration.world import personal

    foreign = _training_pipeline(personal(outsider), outsider, name="theirs")
    hidden = owner_api.put("/api/deployments/dep/retrain/", {"pipeline": foreign.pk}, format="json")
    assert hidden.status_code == 400 and hidden.json()["field"] == "pipeline"
    assert "not found" in hidden.json()["detail"]  # another workspace's pipeline is not confirmed

    Membership.objects.create(workspace=personal(outsider), user=owner, role=Role.EDITOR)
    elsewhere = api_client_for(owner).put("/api/deployments/dep/retrain/", {"pipeline": foreign.pk}, format="json")
    assert elsewhere.status_code == 400 and "another workspace" in elsewhere.json()["detail"]

    no_model = Pipeline.objects.create(workspace=world["workspace"], name="no model", created_by=owner,
                                       graph=GraphBuilder().node("load", "dataset.builtin", name="iris").build())
    untrained = owner_api.put("/api/deployments/dep/retrain/", {"pipeline": no_model.pk}, format="json")
    assert untrained.status_code == 400 and "model.train" in untrained.json()["detail"]


def _drifting(owner_api, pipeline, **policy):
    owner_api.put("/api/deployments/dep/retrain/", {"pipeline": pipeline.pk, "consecutive": 1, **policy},
                  format="json")
    AlertRule.objects.filter(deployment__name="dep").exclude(signal="drift_share").delete()


def test_at_most_one_retrain_run_is_active_at_a_time(world, owner, owner_api):
    pipeline = _training_pipeline(world["workspace"], owner)
    _drifting(owner_api, pipeline, cooldown_hours=0)
    deployment = Deployment.objects.get(name="dep")
    alert_rules_evaluate(deployment, window(1, share=0.9))
    first = RetrainRun.objects.get()
    assert first.run.trigger == "drift"
    Run.objects.filter(pk=first.run_id).update(status=RunStatus.RUNNING)  # no worker here: it stays active

    alert_rules_evaluate(deployment, window(2, share=0.9))
    assert RetrainRun.objects.count() == 1

    Run.objects.filter(pk=first.run_id).update(status=RunStatus.FAILED)
    alert_rules_evaluate(deployment, window(3, share=0.9))  # the failed run is collected, a new one starts
    assert RetrainRun.objects.count() == 2
    first.refresh_from_db()
    assert first.done and first.model_version is None and "failed" in first.error


def test_a_performance_alert_does_not_retrain_a_drift_only_policy(world, owner, owner_api):
    pipeline = _training_pipeline(world["workspace"], owner)
    _drifting(owner_api, pipeline, on=["drift"])
    owner_api.post("/api/deployments/dep/alert-rules/", {"signal": "performance", "threshold": 0.9}, format="json")

    alert_rules_evaluate(Deployment.objects.get(name="dep"), window(1, share=0.0, performance=0.5))

    assert not RetrainRun.objects.exists()


def test_a_policy_whose_user_lost_the_editor_role_starts_nothing_and_says_why(world, editor, owner, owner_api):
    pipeline = _training_pipeline(world["workspace"], owner)
    response = api_client_for(editor).put(
        "/api/deployments/dep/retrain/", {"pipeline": pipeline.pk, "consecutive": 1}, format="json")
    assert response.status_code == 200, response.content
    AlertRule.objects.filter(deployment__name="dep").exclude(signal="drift_share").delete()
    Membership.objects.filter(user=editor).update(role="viewer")

    alert_rules_evaluate(Deployment.objects.get(name="dep"), window(1, share=0.9))

    assert not RetrainRun.objects.exists()
    assert "may no longer run pipelines" in owner_api.get("/api/deployments/dep/retrain/").json()["last_error"]

"""Every workspace's data is visible only to its members: an outsider gets a bare 404.

Never 403 (that would confirm the object exists), never a row or a name of it.
"""

from __future__ import annotations

import pandas as pd
import pytest
from django.utils import timezone

from pipelines.execution.executor import cache_key
from pipelines.graph.builder import GraphBuilder
from pipelines.models import (
    Alert,
    AlertRule,
    AlertStatus,
    Deployment,
    DeploymentKey,
    Membership,
    MonitoringReference,
    MonitoringWindow,
    RetrainPolicy,
    Run,
    RunStatus,
    StepRun,
    StepStatus,
)
from pipelines.services.advance import run_reconcile
from pipelines.services.alerts import alert_rules_evaluate
from pipelines.services.artifacts import artifact_store
from tests.conftest import api_client_for
from tests.integration.alert_windows import window
from tests.integration.world import SECRET_NAME, bearer, ids, predict, trained_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_store")]

OUTSIDER_REQUESTS = [
    ("get", "/api/pipelines/{pipeline}/", None),
    ("patch", "/api/pipelines/{pipeline}/", {"version": 1, "name": "pwned"}),
    ("delete", "/api/pipelines/{pipeline}/", None),
    ("post", "/api/pipelines/{pipeline}/validate/", {}),
    ("get", "/api/pipelines/{pipeline}/runs/", None),
    ("post", "/api/pipelines/{pipeline}/runs/", {}),
    ("get", "/api/pipelines/{pipeline}/versions/", None),
    ("get", "/api/pipelines/{pipeline}/versions/1/", None),
    ("get", "/api/runs/{run}/", None),
    ("post", "/api/runs/{queued}/cancel/", None),
    ("post", "/api/runs/{failed}/retry/", None),
    ("get", "/api/runs/{outsider_run}/compare/?other={run}", None),
    ("get", "/api/datasets/{dataset}/", None),
    ("get", "/api/workspaces/{workspace}/members/", None),
    ("post", "/api/workspaces/{workspace}/members/", {"username": "outsider", "role": "admin"}),
    ("delete", "/api/workspaces/{workspace}/members/viewer/", None),
    ("get", "/api/models/{version}/", None),
    ("get", "/api/deployments/dep/", None),
    ("post", "/api/deployments/dep/rollback/", {}),
    ("get", "/api/deployments/dep/keys/", None),
    ("post", "/api/deployments/dep/keys/", {"name": "mine"}),
    ("delete", "/api/deployments/dep/keys/{key}/", None),
    ("get", "/api/deployments/dep/monitoring/?start=2026-01-01T00:00:00Z&end=2026-01-08T00:00:00Z", None),
    ("post", "/api/deployments/dep/monitoring/run/", {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}),
    ("get", "/api/deployments/dep/monitoring/reference/", None),
    ("put", "/api/deployments/dep/monitoring/reference/", {"kind": "training"}),
    ("get", "/api/deployments/dep/alert-rules/", None),
    ("post", "/api/deployments/dep/alert-rules/", {"signal": "error_rate", "threshold": 0.5}),
    ("get", "/api/deployments/dep/alert-rules/{rule}/", None),
    ("put", "/api/deployments/dep/alert-rules/{rule}/", {"signal": "drift_share", "threshold": 0.9}),
    ("patch", "/api/deployments/dep/alert-rules/{rule}/", {"enabled": False}),
    ("delete", "/api/deployments/dep/alert-rules/{rule}/", None),
    ("get", "/api/alerts/{alert}/", None),
    ("post", "/api/alerts/{alert}/ack/", None),
    ("get", "/api/deployments/dep/retrain/", None),
    ("put", "/api/deployments/dep/retrain/", {"pipeline": 1}),
    ("delete", "/api/deployments/dep/retrain/", None),
]


def _with_alert(world) -> dict:
    """The world's ids plus a firing alert of ``dep`` and its rule (default rules come with the deployment)."""
    alert = alert_rules_evaluate(Deployment.objects.get(name="dep"), window(1, share=0.9))[0]
    return {**ids(world), "rule": alert.rule_id, "alert": alert.pk}


def test_an_outsider_gets_a_bare_404_from_every_endpoint_of_another_workspace(world, outsider_api):
    values = _with_alert(world)
    answers, leaks = {}, []
    for method, url, body in OUTSIDER_REQUESTS:
        response = getattr(outsider_api, method)(url.format(**values), body, format="json")
        answers[f"{method.upper()} {url}"] = response.status_code
        if SECRET_NAME in response.content.decode():
            leaks.append(url)

    assert answers == {f"{method.upper()} {url}": 404 for method, url, _ in OUTSIDER_REQUESTS}
    assert leaks == []


def test_an_outsiders_requests_change_nothing_in_another_workspace(world, outsider_api):
    values = _with_alert(world)
    rules_before = list(AlertRule.objects.filter(deployment__name="dep").order_by("pk").values())
    for method, url, body in OUTSIDER_REQUESTS:
        getattr(outsider_api, method)(url.format(**values), body, format="json")

    world["pipeline"].refresh_from_db()
    assert world["pipeline"].name == SECRET_NAME
    assert Run.objects.get(pk=world["queued"].pk).status == RunStatus.QUEUED
    assert Run.objects.filter(pipeline=world["pipeline"]).count() == 3
    members = Membership.objects.filter(workspace=world["workspace"])
    assert sorted(members.values_list("user__username", flat=True)) == ["editor", "owner", "viewer"]
    assert DeploymentKey.objects.filter(deployment__name="dep", revoked_at__isnull=True).count() == 1
    assert Deployment.objects.get(name="dep").revisions.count() == 1
    assert list(AlertRule.objects.filter(deployment__name="dep").order_by("pk").values()) == rules_before
    assert Alert.objects.get(pk=values["alert"]).status == AlertStatus.FIRING
    assert not MonitoringReference.objects.filter(deployment__name="dep").exists()
    assert not RetrainPolicy.objects.filter(deployment__name="dep").exists()
    assert not MonitoringWindow.objects.filter(deployment__name="dep").exists()


@pytest.mark.parametrize(
    "url", ["/api/pipelines/", "/api/runs/", "/api/datasets/", "/api/models/", "/api/deployments/"]
)
def test_api_lists_never_show_another_workspaces_rows_whatever_the_filter(world, outsider_api, url):
    other = world["workspace"].pk
    shown = {}
    for query in ["", f"?workspace={other}", f"?pipeline={world['pipeline'].pk}"]:
        response = outsider_api.get(url + query)
        body = response.json()
        rows = body["results"] if isinstance(body, dict) else body
        shown[query] = (response.status_code, [r for r in rows if r.get("workspace") == other])

    assert shown == {
        "": (200, []),
        f"?workspace={other}": (200, []),
        f"?pipeline={world['pipeline'].pk}": (200, []),
    }


def test_the_workspace_list_holds_only_the_callers_workspaces(world, outsider_api):
    listed = [w["id"] for w in outsider_api.get("/api/workspaces/").json()]

    assert world["workspace"].pk not in listed


@pytest.mark.parametrize("page", ["/pipelines/", "/runs/", "/models/", "/datasets/"])
def test_list_pages_never_show_another_workspaces_names(world, outsider, client, page):
    client.force_login(outsider)
    response = client.get(page)
    html = response.content.decode()

    assert response.status_code == 200
    assert SECRET_NAME not in html
    assert "model-of-dep " not in html and "model-of-dep<" not in html


def test_an_outsider_gets_404_pages_for_another_workspaces_objects(world, outsider, client):
    run = world["run"].pk
    pages = [
        f"/pipelines/{world['pipeline'].pk}/edit/",
        f"/pipelines/{world['pipeline'].pk}/runs/",
        f"/runs/{run}/",
        f"/runs/{world['outsider_run'].pk}/compare/{run}/",
        f"/runs/{run}/steps/train/outputs/model/",
        f"/runs/{run}/steps/load/outputs/table/",
        f"/datasets/{world['dataset']['id']}/",
        f"/models/{world['version']['id']}/",
        "/deployments/dep/",
    ]
    client.force_login(outsider)
    answers = {page: client.get(page) for page in pages}

    assert {page: r.status_code for page, r in answers.items()} == dict.fromkeys(pages, 404)
    assert [page for page, r in answers.items() if SECRET_NAME in r.content.decode()] == []


def test_registering_a_model_from_another_workspaces_run_answers_exactly_like_a_missing_run(
    world, outsider_api
):
    def attempt(run_id):
        response = outsider_api.post(
            "/api/models/", {"name": "stolen", "run": run_id, "node": "train"}, format="json"
        )
        return response.status_code, response.content.decode().replace(str(run_id), "<id>")

    existing, missing = attempt(world["run"].pk), attempt(world["run"].pk + 10_000)

    assert existing[0] == 404
    assert existing == missing  # otherwise the body tells which run ids exist elsewhere


def test_deploying_another_workspaces_model_version_answers_exactly_like_a_missing_one(
    world, outsider_api
):
    def attempt(version_id):
        response = outsider_api.post(
            "/api/deployments/", {"name": "stolen", "model_version": version_id}, format="json"
        )
        return response.status_code, response.content.decode().replace(str(version_id), "<id>")

    existing, missing = attempt(world["version"]["id"]), attempt(world["version"]["id"] + 10_000)

    assert existing[0] == 404
    assert existing == missing
    assert not Deployment.objects.filter(name="stolen").exists()


def test_deploying_under_a_name_taken_in_another_workspace_is_a_409_and_takes_nothing_over(
    world, outsider_api
):
    response = outsider_api.post(
        "/api/deployments/",
        {"name": "dep", "model_version": world["outsider_version"]["id"]},
        format="json",
    )

    assert response.status_code == 409
    deployment = Deployment.objects.get(name="dep")
    assert deployment.workspace_id == world["workspace"].pk
    assert deployment.current_revision.model_version_id == world["version"]["id"]
    assert deployment.revisions.count() == 1


def test_a_deployments_own_key_opens_it_for_predictions(world):
    assert predict(bearer(world["key"]["key"])).status_code == 200


def test_another_deployments_key_or_an_outsiders_token_gets_404_on_every_serving_route(
    world, outsider_api
):
    foreign_key = bearer(world["outsider_key"]["key"])

    answers = {
        "predict with the other deployment's key": predict(foreign_key).status_code,
        "predict with an outsider's token": predict(outsider_api).status_code,
        "v2 model metadata": outsider_api.get("/v2/models/dep").status_code,
        "v2 model ready": outsider_api.get("/v2/models/dep/ready").status_code,
        "v2 infer": outsider_api.post(
            "/v2/models/dep/infer", {"inputs": []}, format="json"
        ).status_code,
        "feedback with the other deployment's key": foreign_key.post(
            "/api/deployments/dep/feedback", {"request_id": "x", "label": 1}, format="json"
        ).status_code,
    }

    assert answers == dict.fromkeys(answers, 404)


def test_an_editor_cannot_revoke_another_workspaces_key_through_their_own_deployment(
    world, outsider_api
):
    response = outsider_api.delete(f"/api/deployments/odep/keys/{world['key']['id']}/")

    assert response.status_code == 404
    assert DeploymentKey.objects.get(pk=world["key"]["id"]).revoked_at is None


def test_a_step_reuses_cached_results_of_its_own_workspace_only(owner, outsider):
    store = artifact_store()
    table = store.put_table(pd.DataFrame({"x": [1, 2]}))
    params = {"name": "iris"}
    key = cache_key(block_key="dataset.builtin", block_version="1", params=params, input_hashes={})
    source = trained_run(owner)
    StepRun.objects.filter(run=source, node_id="load").update(
        cache_key=key, params=params, outputs={"table": table.as_ref()}, finished_at=timezone.now()
    )

    def queued_run(user) -> StepRun:
        run = trained_run(user, name="again", status=RunStatus.QUEUED)
        run.steps.filter(node_id="train").delete()
        run.steps.filter(node_id="load").update(
            status=StepStatus.PENDING, params=params, outputs={}
        )
        Run.objects.filter(pk=run.pk).update(steps_total=1, steps_done=0)
        run_reconcile(run=Run.objects.get(pk=run.pk))
        return run.steps.get(node_id="load")

    same_workspace, other_workspace = queued_run(owner), queued_run(outsider)

    assert same_workspace.cache_hit is True  # the control: caching works
    assert other_workspace.cache_hit is False
    assert other_workspace.status == StepStatus.QUEUED
    assert other_workspace.outputs == {}


def test_a_run_cannot_load_a_dataset_uploaded_to_another_workspace(world, outsider_api):
    graph = (
        GraphBuilder()
        .node("load", "dataset.upload", dataset=world["dataset"]["sha256"])
        .build()
    )
    pipeline = outsider_api.post(
        "/api/pipelines/", {"name": "steal", "graph": graph}, format="json"
    ).json()

    response = outsider_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["load"]
    assert not Run.objects.filter(pipeline_id=pipeline["id"]).exists()


def test_step_output_downloads_serve_members_and_404_for_an_unknown_port(world, viewer, client):
    run = world["run"]
    client.force_login(viewer)
    table = client.get(f"/runs/{run.pk}/steps/load/outputs/table/")

    assert table.status_code == 200
    assert table.content.decode().startswith("a,b,target")
    assert client.get(f"/runs/{run.pk}/steps/load/outputs/nope/").status_code == 404


def test_a_member_removed_from_the_workspace_loses_prediction_access_at_once(
    world, owner_api, viewer
):
    viewer_api = api_client_for(viewer)
    assert predict(viewer_api).status_code == 200

    removed = owner_api.delete(f"/api/workspaces/{world['workspace'].pk}/members/viewer/")

    assert removed.status_code == 204
    assert predict(viewer_api).status_code == 404

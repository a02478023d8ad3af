"""Roles are enforced: a viewer reads, an editor edits, only an admin manages members."""

from __future__ import annotations

import io

import pytest

from pipelines.graph.builder import GraphBuilder
from pipelines.models import (
    Dataset,
    Deployment,
    DeploymentKey,
    Membership,
    Pipeline,
    Role,
    Run,
    RunStatus,
)
from tests.conftest import api_client_for
from tests.integration.world import SECRET_NAME, ids

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_store")]

VIEWER_WRITES = [
    ("patch", "/api/pipelines/{pipeline}/", {"version": 1, "name": "changed"}),
    (
        "put",
        "/api/pipelines/{pipeline}/",
        {"version": 1, "name": "changed", "graph": GraphBuilder().build()},
    ),
    ("delete", "/api/pipelines/{pipeline}/", None),
    ("post", "/api/pipelines/{pipeline}/runs/", {}),
    ("post", "/api/runs/{queued}/cancel/", None),
    ("post", "/api/runs/{failed}/retry/", None),
    ("post", "/api/pipelines/", {"name": "new", "workspace": "{workspace}"}),
    ("post", "/api/models/", {"name": "m2", "run": "{run}", "node": "train"}),
    ("post", "/api/deployments/", {"name": "dep", "model_version": "{version}"}),
    ("post", "/api/deployments/dep/rollback/", {"revision": 1}),
    ("get", "/api/deployments/dep/keys/", None),
    ("post", "/api/deployments/dep/keys/", {"name": "mine"}),
    ("delete", "/api/deployments/dep/keys/{key}/", None),
    ("post", "/api/workspaces/{workspace}/members/", {"username": "viewer", "role": "admin"}),
    ("delete", "/api/workspaces/{workspace}/members/editor/", None),
]


def _send_viewer_writes(world, viewer) -> dict[str, int]:
    values = ids(world)
    api = api_client_for(viewer)
    answers = {}
    for method, url, body in VIEWER_WRITES:
        if body:
            body = {
                k: (int(v.format(**values)) if isinstance(v, str) and v.startswith("{") else v)
                for k, v in body.items()
            }
        response = getattr(api, method)(url.format(**values), body, format="json")
        answers[f"{method.upper()} {url}"] = response.status_code
    return answers


def test_a_viewer_gets_403_for_every_write(world, viewer):
    answers = _send_viewer_writes(world, viewer)

    assert answers == {f"{method.upper()} {url}": 403 for method, url, _ in VIEWER_WRITES}


def test_a_viewers_refused_writes_change_nothing(world, viewer):
    counts = (
        Run.objects.count(),
        Pipeline.objects.count(),
        DeploymentKey.objects.filter(revoked_at=None).count(),
    )

    _send_viewer_writes(world, viewer)

    world["pipeline"].refresh_from_db()
    assert world["pipeline"].name == SECRET_NAME
    assert Run.objects.get(pk=world["queued"].pk).status == RunStatus.QUEUED
    assert (
        Run.objects.count(),
        Pipeline.objects.count(),
        DeploymentKey.objects.filter(revoked_at=None).count(),
    ) == counts
    roles = dict(
        Membership.objects.filter(workspace=world["workspace"]).values_list(
            "user__username", "role"
        )
    )
    assert roles == {"owner": Role.ADMIN, "viewer": Role.VIEWER, "editor": Role.EDITOR}
    assert Deployment.objects.get(name="dep").revisions.count() == 1


def test_an_editor_gets_403_for_adding_removing_or_promoting_members(world, editor, make_user):
    make_user("newcomer")
    api = api_client_for(editor)
    members = f"/api/workspaces/{world['workspace'].pk}/members/"

    answers = {
        "add": api.post(members, {"username": "newcomer"}, format="json").status_code,
        "remove": api.delete(f"{members}viewer/").status_code,
        "promote self": api.post(
            members, {"username": "editor", "role": "admin"}, format="json"
        ).status_code,
    }

    assert answers == {"add": 403, "remove": 403, "promote self": 403}
    assert Membership.objects.get(workspace=world["workspace"], user=editor).role == Role.EDITOR
    assert not Membership.objects.filter(
        workspace=world["workspace"], user__username="newcomer"
    ).exists()


def test_a_viewer_gets_403_uploading_a_dataset_through_the_api(world, viewer):
    upload = io.BytesIO(b"a,b\n1,2\n")
    upload.name = "v.csv"

    response = api_client_for(viewer).post(
        "/api/datasets/", {"file": upload, "workspace": world["workspace"].pk}, format="multipart"
    )

    assert response.status_code == 403
    assert not Dataset.objects.filter(created_by=viewer).exists()


def test_a_viewer_uploading_a_dataset_through_the_page_gets_the_form_back_with_a_403(
    world, viewer, client
):
    upload = io.BytesIO(b"a,b\n1,2\n")
    upload.name = "v.csv"
    client.force_login(viewer)

    response = client.post("/datasets/", {"file": upload, "workspace": world["workspace"].pk})

    assert response.status_code == 403
    assert response.context["error"]["message"] == (
        "your role in this workspace is viewer; this needs editor or higher"
    )
    assert not Dataset.objects.filter(created_by=viewer).exists()


def test_a_viewer_sees_the_pipeline_editor_read_only(world, viewer, client):
    client.force_login(viewer)

    response = client.get(f"/pipelines/{world['pipeline'].pk}/edit/")

    assert response.status_code == 200
    assert response.context["editor_config"]["read_only"] is True


def test_a_viewer_sees_the_deployment_page_without_keys_or_edit_controls(world, viewer, client):
    client.force_login(viewer)

    response = client.get("/deployments/dep/")

    assert response.status_code == 200
    assert (response.context["can_edit"], response.context["keys"]) == (False, [])


def test_only_an_admin_may_override_gates_and_an_editor_is_told_the_role_needed(world, editor):
    """Checked in the permission layer (``access.require_gate_override``), before any gate
    runs: an editor's override of a promotion or a pinned deploy is a 403 naming ``override``."""
    api = api_client_for(editor)
    version = ids(world)["version"]
    promote = api.post("/api/registered-models/model-of-dep/versions/1/promote/",
                       {"alias": "champion", "reason": "ship it", "override": True}, format="json")
    deploy = api.post("/api/deployments/", {"name": "forced", "model_version": int(version), "override": True,
                                            "reason": "ship it"}, format="json")

    for refused in (promote, deploy):
        assert refused.status_code == 403, refused.content
        body = refused.json()
        assert body["field"] == "override"
        assert body["detail"] == "overriding failing gates needs the admin role (yours is editor)"
    assert not Deployment.objects.filter(name="forced").exists()
    # Without the override the editor's promotion goes through (no gate is set).
    allowed = api.post("/api/registered-models/model-of-dep/versions/1/promote/", {"alias": "champion"},
                       format="json")
    assert allowed.status_code == 200, allowed.content

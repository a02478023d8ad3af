"""Deleting a workspace, or a user with a personal workspace, removes everything in it.

Deployments keep revisions that point at model versions, runs point at pipeline
versions and datasets at artifacts; those references refuse deleting the one row
(PROTECT-like), but must not stop the workspace that holds both ends from going.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from pipelines.models import Dataset, Deployment, DeploymentRevision, ModelVersion, Run, Workspace
from tests.integration.world import deploy, personal, trained_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db, pytest.mark.usefixtures("isolated_store")]


def _workspace_with_a_deployment(owner, owner_api) -> Workspace:
    run = trained_run(owner)
    deploy(owner_api, run, "churn")
    return personal(owner)


def test_deleting_a_workspace_with_deployments_removes_them_and_their_revisions(owner, owner_api):
    workspace = _workspace_with_a_deployment(owner, owner_api)

    workspace.delete()

    assert not Deployment.objects.filter(name="churn").exists()
    assert not DeploymentRevision.objects.exists()
    assert not ModelVersion.objects.exists()
    assert not Run.objects.exists()


def test_deleting_a_user_whose_personal_workspace_has_deployments(owner, owner_api):
    _workspace_with_a_deployment(owner, owner_api)

    get_user_model().objects.get(pk=owner.pk).delete()

    assert not Workspace.objects.filter(personal_owner_id=owner.pk).exists()
    assert not Deployment.objects.exists()
    assert not Dataset.objects.exists()


def test_a_model_version_a_deployment_served_still_cannot_be_deleted_alone(owner, owner_api):
    _workspace_with_a_deployment(owner, owner_api)
    version = ModelVersion.objects.get()

    with pytest.raises(Exception, match="referenced|protected|restricted"):
        version.delete()
    assert ModelVersion.objects.filter(pk=version.pk).exists()

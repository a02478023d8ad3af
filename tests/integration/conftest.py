"""The workspace "world" the isolation, role and bad-input tests share.

The owner owns a personal workspace with a pipeline, a trained run, a registered
model, a deployment ``dep`` and a key; a viewer and an editor are members there.
The outsider has a workspace of their own (with its own deployment ``odep``).
Runs, steps and artifacts are made directly (ORM + the real artifact store), so
no Celery worker is needed; models are registered and deployed through the real API.

None of these fixtures is autouse: ``isolated_store`` points the artifact store at
a per-test folder, which a test running a real worker must not do.
"""

from __future__ import annotations

import io

import pytest

from pipelines.models import Membership, Role, Run, RunStatus
from pipelines.services.artifacts import artifact_store
from pipelines.serving import handler as serving_handler
from pipelines.serving.state import caches_clear, serving_reset
from tests.integration.world import deploy, personal, trained_run


@pytest.fixture
def isolated_store(monkeypatch, settings, tmp_path):
    """A fresh artifact store per test (some tests tamper with files) and fresh serving
    caches; prediction logs are not written by the background thread (it has its own
    connection and cannot see this test's uncommitted rows)."""
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    artifact_store.cache_clear()
    monkeypatch.setattr(serving_handler, "LOG_PREDICTIONS", False)
    caches_clear()
    yield
    caches_clear()
    artifact_store.cache_clear()


@pytest.fixture
def fresh_serving():
    """Serving state of this process reset before and after the test (``serving_reset``):
    for tests that deploy and predict through the real handler, prediction logs included."""
    serving_reset()
    yield
    serving_reset()


@pytest.fixture
def viewer(make_user, owner):
    user = make_user("viewer")
    Membership.objects.create(workspace=personal(owner), user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def editor(make_user, owner):
    user = make_user("editor")
    Membership.objects.create(workspace=personal(owner), user=user, role=Role.EDITOR)
    return user


@pytest.fixture
def world(isolated_store, owner, owner_api, outsider, outsider_api, viewer, editor):
    """Everything the owner has, plus the outsider's own deployment ``odep``."""
    run = trained_run(owner)
    deployed = deploy(owner_api, run, "dep")
    failed = Run.objects.create(
        workspace=run.workspace,
        pipeline=run.pipeline,
        pipeline_version=run.pipeline_version,
        status=RunStatus.FAILED,
        created_by=owner,
    )
    queued = Run.objects.create(
        workspace=run.workspace,
        pipeline=run.pipeline,
        pipeline_version=run.pipeline_version,
        status=RunStatus.QUEUED,
        created_by=owner,
    )
    upload = io.BytesIO(b"a,b\n1,2\n3,4\n")
    upload.name = "owner.csv"
    dataset = owner_api.post("/api/datasets/", {"file": upload}, format="multipart")
    assert dataset.status_code == 201, dataset.content
    outsider_run = trained_run(outsider, name="outsider pipeline")
    outsider_deployed = deploy(outsider_api, outsider_run, "odep")
    return {
        "workspace": run.workspace,
        "pipeline": run.pipeline,
        "run": run,
        "failed": failed,
        "queued": queued,
        "dataset": dataset.json(),
        "version": deployed["version"],
        "key": deployed["key"],
        "outsider_run": outsider_run,
        "outsider_version": outsider_deployed["version"],
        "outsider_key": outsider_deployed["key"],
    }

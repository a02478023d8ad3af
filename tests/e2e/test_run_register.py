"""From a finished run to a serving endpoint in one click, in real Chromium."""

import pytest

from pipelines.demo import breast_cancer_graph
from pipelines.models import Deployment, ModelVersion
from tests.conftest import wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_register_and_deploy_from_the_run_page(login, live_server, owner, owner_api, celery_worker_process):
    pipeline = owner_api.post("/api/pipelines/", {"name": "Cancer screen", "graph": breast_cancer_graph()}, format="json").json()
    run = wait_for_run(owner_api, owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").json()["id"])
    page = login(owner)

    page.goto(f"{live_server.url}/runs/{run['id']}/")
    form = page.locator('.register-form[data-node="train"]')
    assert form.locator("input[name=name]").input_value() == "cancer-screen"
    form.locator("button[value=deploy]").click()
    page.wait_for_url("**/deployments/cancer-screen/")

    version = ModelVersion.objects.get()
    assert (version.run_id, version.node_id) == (run["id"], "train")
    assert Deployment.objects.get(name="cancer-screen").current_revision.model_version == version
    assert page.get_by_text("Serving").first.is_visible()
    assert page.errors == []

"""Dataset versions: an upload under an existing name is its next version; a node pins one or follows the latest."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pipelines.graph.builder import GraphBuilder
from pipelines.models import Dataset, Workspace
from pipelines.services.graphs import GraphInvalid, graph_compile, graph_validate
from tests.conftest import wait_for_run

V1 = b"x,target\n" + b"".join(f"{i},{i % 2}\n".encode() for i in range(40))
V2 = b"x,target\n" + b"".join(f"{i * 10},{i % 2}\n".encode() for i in range(60))


def _csv(data: bytes, name: str = "sales.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def _upload(api, data: bytes, name: str = "sales") -> dict:
    response = api.post("/api/datasets/", {"file": _csv(data), "name": name}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def _load(ref: str, version: int | None = None) -> dict:
    params = {"dataset": ref} if version is None else {"dataset": ref, "version": version}
    return GraphBuilder().node("load", "dataset.upload", **params).build()


@pytest.mark.django_db
def test_uploading_under_an_existing_name_makes_the_next_version(owner_api):
    first = _upload(owner_api, V1)
    second = _upload(owner_api, V2)
    other = _upload(owner_api, V1, name="other")

    assert (first["version"], second["version"], other["version"]) == (1, 2, 1)
    assert second["n_rows"] == 60


@pytest.mark.django_db
def test_the_page_uploads_a_new_version_and_shows_its_number(client, owner):
    client.force_login(owner)
    client.post("/datasets/", {"file": _csv(V1), "name": "sales"})

    response = client.post("/datasets/", {"file": _csv(V2), "name": "sales"}, follow=True)

    assert Dataset.objects.get(version=2).name == "sales"
    assert "v2" in response.content.decode()


@pytest.mark.django_db
def test_a_node_without_a_version_follows_the_latest_upload_when_the_run_compiles(owner_api, owner):
    first = _upload(owner_api, V1)
    workspace = Workspace.objects.get(pk=first["workspace"])
    before = graph_compile(graph=_load("sales"), workspace=workspace).steps[0].params

    second = _upload(owner_api, V2)
    after = graph_compile(graph=_load("sales"), workspace=workspace).steps[0].params

    assert before == {"dataset": first["sha256"], "version": 1, "name": "sales"}
    assert after == {"dataset": second["sha256"], "version": 2, "name": "sales"}


@pytest.mark.django_db
def test_a_pinned_version_stays_on_that_upload(owner_api):
    first = _upload(owner_api, V1)
    _upload(owner_api, V2)
    workspace = Workspace.objects.get(pk=first["workspace"])

    params = graph_compile(graph=_load("sales", version=1), workspace=workspace).steps[0].params

    assert params["dataset"] == first["sha256"] and params["version"] == 1


@pytest.mark.django_db
def test_an_old_graph_holding_a_sha256_still_validates_and_follows_its_dataset(owner_api):
    first = _upload(owner_api, V1)
    second = _upload(owner_api, V2)
    workspace = Workspace.objects.get(pk=first["workspace"])

    params = graph_compile(graph=_load(first["sha256"]), workspace=workspace).steps[0].params

    assert params == {"dataset": second["sha256"], "version": 2, "name": "sales"}


@pytest.mark.django_db
def test_a_version_that_does_not_exist_is_reported_on_the_node(owner_api):
    first = _upload(owner_api, V1)
    workspace = Workspace.objects.get(pk=first["workspace"])

    result = graph_validate(graph=_load("sales", version=3), workspace=workspace)

    assert result.as_dict()["errors"]["load"] == ["version: dataset 'sales' has no version 3; its versions are 1 to 1"]
    with pytest.raises(GraphInvalid):
        graph_compile(graph=_load("sales", version=3), workspace=workspace)


@pytest.mark.django_db
def test_a_dataset_name_of_another_workspace_is_not_found(owner_api, outsider_api):
    _upload(outsider_api, V1)
    mine = _upload(owner_api, V1, name="mine")
    workspace = Workspace.objects.get(pk=mine["workspace"])

    errors = graph_validate(graph=_load("sales"), workspace=workspace).as_dict()["errors"]["load"]

    assert errors == ["dataset: no uploaded dataset with this name or id in this workspace"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_run_records_the_version_it_used_and_a_new_version_is_not_served_from_the_cache(
    owner_api, celery_worker_process
):
    _upload(owner_api, V1)
    pipeline = owner_api.post("/api/pipelines/", {"name": "v", "graph": _load("sales")}, format="json").json()
    run = lambda: wait_for_run(  # noqa: E731
        owner_api, owner_api.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").json()["id"]
    )
    first = run()
    _upload(owner_api, V2)

    second = run()

    assert first["status"] == second["status"] == "succeeded"
    load = second["steps"][0]
    assert load["params"]["version"] == 2 and not load["cache_hit"]
    assert load["summary"]["outputs"]["table"]["rows"] == 60
    assert first["steps"][0]["params"]["version"] == 1


@pytest.mark.django_db(transaction=True)
def test_two_uploads_under_one_name_at_once_get_two_version_numbers(owner):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from pipelines.services.datasets import dataset_upload

    workspace = Workspace.objects.get(memberships__user=owner)

    def upload(data: bytes) -> int:
        try:
            return dataset_upload(workspace=workspace, user=owner, name="sales", filename="s.csv", data=data).version
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        versions = sorted(pool.map(upload, [V1, V2]))

    assert versions == [1, 2]

"""Renaming, duplicating and deleting pipelines and datasets through the API (issue 8, 6d)."""

from __future__ import annotations

import io

import pytest

from pipelines.graph.builder import GraphBuilder
from pipelines.models import Dataset, Pipeline, StepRun, StepStatus
from pipelines.services.artifacts import artifact_store
from tests.conftest import api_client_for
from tests.integration.world import personal

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_store")]

GRAPH = GraphBuilder().node("load", "dataset.builtin", name="iris").build()


def _upload(api, name: str = "sales", rows: int = 3) -> dict:
    data = io.BytesIO(b"x,target\n" + b"".join(f"{i},{i % 2}\n".encode() for i in range(rows)))
    data.name = f"{name}.csv"
    response = api.post("/api/datasets/", {"file": data, "name": name}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def _pipeline(api, name: str = "Churn", graph: dict = GRAPH) -> dict:
    response = api.post("/api/pipelines/", {"name": name, "graph": graph}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _loads(dataset: str, version: int | None = None) -> dict:
    params = {"dataset": dataset} if version is None else {"dataset": dataset, "version": version}
    return GraphBuilder().node("load", "dataset.upload", **params).build()


# -- pipelines ---------------------------------------------------------------------------


def test_duplicating_a_pipeline_copies_its_draft_as_a_new_pipeline_at_version_1(owner_api):
    original = _pipeline(owner_api)
    edited = owner_api.patch(
        f"/api/pipelines/{original['id']}/", {"version": 1, "graph": _loads("sales")}, format="json"
    ).json()

    first = owner_api.post(f"/api/pipelines/{original['id']}/duplicate/", {}, format="json")
    second = owner_api.post(f"/api/pipelines/{original['id']}/duplicate/", {}, format="json")

    assert first.status_code == 201, first.content
    copy = first.json()
    assert (copy["name"], copy["version"], copy["workspace"]) == ("Churn (copy)", 1, original["workspace"])
    assert copy["graph"] == edited["graph"] and copy["id"] != original["id"]
    assert second.json()["name"] == "Churn (copy 2)"
    assert owner_api.get(f"/api/pipelines/{copy['id']}/versions/").json()["count"] == 0


def test_a_duplicate_takes_a_given_name_unless_the_workspace_has_it(owner_api):
    original = _pipeline(owner_api)
    _pipeline(owner_api, name="Taken")

    named = owner_api.post(f"/api/pipelines/{original['id']}/duplicate/", {"name": "  Fresh  "}, format="json")
    taken = owner_api.post(f"/api/pipelines/{original['id']}/duplicate/", {"name": "Taken"}, format="json")

    assert named.status_code == 201 and named.json()["name"] == "Fresh"
    assert taken.status_code == 409 and taken.json()["field"] == "name"
    assert "Taken" in taken.json()["detail"]


def test_renaming_a_pipeline_to_another_pipelines_name_in_its_workspace_is_a_409_naming_the_field(
    owner_api, outsider_api
):
    pipeline = _pipeline(owner_api)
    _pipeline(owner_api, name="Other")
    _pipeline(outsider_api, name="Elsewhere")

    taken = owner_api.patch(f"/api/pipelines/{pipeline['id']}/", {"version": 1, "name": "Other"}, format="json")
    free = owner_api.patch(f"/api/pipelines/{pipeline['id']}/", {"version": 1, "name": "Elsewhere"}, format="json")
    same = owner_api.patch(f"/api/pipelines/{pipeline['id']}/", {"version": 2, "name": "Elsewhere"}, format="json")

    assert taken.status_code == 409 and taken.json()["field"] == "name"
    assert "current_version" not in taken.json()  # not a stale version: the editor tells them apart
    assert free.status_code == 200 and free.json()["name"] == "Elsewhere"
    assert same.status_code == 200 and same.json()["version"] == 3


def test_a_stale_rename_is_a_409_even_when_the_name_is_taken(owner_api):
    pipeline = _pipeline(owner_api)
    _pipeline(owner_api, name="Other")
    owner_api.patch(f"/api/pipelines/{pipeline['id']}/", {"version": 1, "description": "x"}, format="json")

    stale = owner_api.patch(f"/api/pipelines/{pipeline['id']}/", {"version": 1, "name": "Other"}, format="json")
    stale_header = owner_api.patch(
        f"/api/pipelines/{pipeline['id']}/", {"name": "New"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert stale_header.status_code == 409
    assert Pipeline.objects.get(pk=pipeline["id"]).name == "Churn"


@pytest.mark.parametrize(
    "body",
    [{"name": 5}, {"name": ""}, {"name": "   "}, {"name": "x" * 201}, {"name": "a\x00b"}, {"name": None}],
)
def test_bad_names_for_a_pipeline_copy_or_rename_are_400s_naming_name(owner_api, body):
    pipeline = _pipeline(owner_api)

    duplicate = owner_api.post(f"/api/pipelines/{pipeline['id']}/duplicate/", body, format="json")
    rename = owner_api.patch(f"/api/pipelines/{pipeline['id']}/", {"version": 1, **body}, format="json")

    for response in (duplicate, rename):
        assert response.status_code == 400, response.content
        assert "name" in (response.json().get("field"), *response.json().get("fields", {}))
    assert Pipeline.objects.count() == 1


def test_a_viewer_cannot_duplicate_rename_or_delete_a_pipeline(world, viewer):
    api = api_client_for(viewer)
    pipeline = world["pipeline"]

    answers = [
        api.post(f"/api/pipelines/{pipeline.pk}/duplicate/", {}, format="json").status_code,
        api.patch(f"/api/pipelines/{pipeline.pk}/", {"version": 1, "name": "mine"}, format="json").status_code,
        api.delete(f"/api/pipelines/{pipeline.pk}/").status_code,
    ]

    assert answers == [403, 403, 403]
    assert Pipeline.objects.filter(workspace=world["workspace"]).count() == 1


def test_an_editor_duplicates_into_the_pipelines_workspace(world, editor):
    response = api_client_for(editor).post(f"/api/pipelines/{world['pipeline'].pk}/duplicate/", {}, format="json")

    assert response.status_code == 201
    assert response.json()["workspace"] == world["workspace"].pk


def test_an_outsider_cannot_duplicate_another_workspaces_pipeline(world, outsider_api):
    response = outsider_api.post(f"/api/pipelines/{world['pipeline'].pk}/duplicate/", {}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "pipeline not found"}


def test_deleting_a_pipeline_that_trained_a_registered_model_is_refused_naming_the_model(world, owner_api):
    response = owner_api.delete(f"/api/pipelines/{world['pipeline'].pk}/")

    assert response.status_code == 409
    assert "model-of-dep v1" in response.json()["detail"]
    assert response.json()["models"] == [{"id": world["version"]["id"], "name": "model-of-dep", "version": 1}]
    assert Pipeline.objects.filter(pk=world["pipeline"].pk).exists()


def test_deleting_a_pipeline_without_models_removes_it_with_its_runs(owner_api):
    pipeline = _pipeline(owner_api)

    response = owner_api.delete(f"/api/pipelines/{pipeline['id']}/")

    assert response.status_code == 204
    assert owner_api.get(f"/api/pipelines/{pipeline['id']}/").status_code == 404


# -- datasets: rename --------------------------------------------------------------------


def test_renaming_a_dataset_renames_every_version_and_the_drafts_that_name_it(owner_api):
    first = _upload(owner_api)
    _upload(owner_api)
    follows = _pipeline(owner_api, name="follows", graph=_loads("sales"))
    by_sha = _pipeline(owner_api, name="by sha", graph=_loads(first["sha256"], 1))
    unrelated = _pipeline(owner_api, name="unrelated")

    response = owner_api.patch(f"/api/datasets/{first['id']}/", {"name": "revenue"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "revenue"
    assert sorted(Dataset.objects.values_list("name", "version")) == [("revenue", 1), ("revenue", 2)]
    renamed = Pipeline.objects.get(pk=follows["id"])
    assert renamed.graph["nodes"][0]["params"] == {"dataset": "revenue"} and renamed.version == 2
    assert Pipeline.objects.get(pk=by_sha["id"]).version == 1  # a sha256 follows the upload, not the name
    assert Pipeline.objects.get(pk=unrelated["id"]).version == 1
    for pipeline in (follows, by_sha):
        valid = owner_api.post(f"/api/pipelines/{pipeline['id']}/validate/", {}, format="json").json()
        assert valid["valid"], valid


def test_an_editor_holding_the_old_draft_gets_a_409_after_the_dataset_was_renamed(owner_api):
    dataset = _upload(owner_api)
    pipeline = _pipeline(owner_api, graph=_loads("sales"))
    owner_api.patch(f"/api/datasets/{dataset['id']}/", {"name": "revenue"}, format="json")

    stale = owner_api.patch(
        f"/api/pipelines/{pipeline['id']}/", {"version": 1, "graph": _loads("sales")}, format="json"
    )

    assert stale.status_code == 409


def test_renaming_a_dataset_to_a_name_taken_in_its_workspace_is_a_409_naming_the_field(owner_api, outsider_api):
    dataset = _upload(owner_api)
    _upload(owner_api, name="other")
    _upload(outsider_api, name="elsewhere")

    taken = owner_api.patch(f"/api/datasets/{dataset['id']}/", {"name": "other"}, format="json")
    free = owner_api.patch(f"/api/datasets/{dataset['id']}/", {"name": "elsewhere"}, format="json")

    assert taken.status_code == 409 and taken.json()["field"] == "name"
    assert free.status_code == 200


@pytest.mark.parametrize("body", [{}, {"name": 5}, {"name": ""}, {"name": "x" * 201}, {"name": "a\x00b"}, [1]])
def test_bad_dataset_names_are_400s_naming_name(owner_api, body):
    dataset = _upload(owner_api)

    responses = [
        owner_api.patch(f"/api/datasets/{dataset['id']}/", body, format="json"),
        *([owner_api.post(f"/api/datasets/{dataset['id']}/duplicate/", body, format="json")] if body else []),
    ]

    for response in responses:
        assert response.status_code == 400, response.content
        payload = response.json()
        assert "name" in (payload.get("field"), *payload.get("fields", {})) or "non_field_errors" in str(payload)
    assert list(Dataset.objects.values_list("name", flat=True)) == ["sales"]


# -- datasets: duplicate -----------------------------------------------------------------


def test_duplicating_a_dataset_version_makes_version_1_of_a_copy_on_the_same_table(owner_api):
    _upload(owner_api)
    second = _upload(owner_api, rows=5)

    first = owner_api.post(f"/api/datasets/{second['id']}/duplicate/", {}, format="json")
    again = owner_api.post(f"/api/datasets/{second['id']}/duplicate/", {}, format="json")

    assert first.status_code == 201, first.content
    copy = first.json()
    assert (copy["name"], copy["version"], copy["sha256"], copy["n_rows"]) == ("sales (copy)", 1, second["sha256"], 5)
    assert copy["profile"] == owner_api.get(f"/api/datasets/{second['id']}/").json()["profile"]
    assert again.json()["name"] == "sales (copy 2)"


# -- datasets: delete --------------------------------------------------------------------


def test_deleting_an_unused_dataset_version_keeps_its_stored_table(owner_api):
    first = _upload(owner_api)
    _upload(owner_api, rows=5)

    response = owner_api.delete(f"/api/datasets/{first['id']}/")

    assert response.status_code == 204
    assert owner_api.get(f"/api/datasets/{first['id']}/").status_code == 404
    assert list(Dataset.objects.values_list("version", flat=True)) == [2]
    assert len(artifact_store().load(first["sha256"], "table")) == 3  # past runs still load it


def test_deleting_a_version_a_draft_loads_is_refused_naming_the_pipeline_and_node(owner_api):
    first = _upload(owner_api)
    second = _upload(owner_api)
    pinned = _pipeline(owner_api, name="pinned", graph=_loads("sales", 1))
    _pipeline(owner_api, name="follows", graph=_loads("sales"))

    refused_old = owner_api.delete(f"/api/datasets/{first['id']}/")
    refused_latest = owner_api.delete(f"/api/datasets/{second['id']}/")

    assert refused_old.status_code == 409
    assert refused_old.json()["pipelines"] == [{"id": pinned["id"], "name": "pinned", "nodes": ["load"]}]
    assert "'pinned' (node load)" in refused_old.json()["detail"]
    assert [p["name"] for p in refused_latest.json()["pipelines"]] == ["follows"]
    assert Dataset.objects.count() == 2


def test_a_version_no_draft_resolves_to_can_be_deleted_while_others_are_used(owner_api):
    first = _upload(owner_api)
    _upload(owner_api)
    _pipeline(owner_api, name="follows", graph=_loads(first["sha256"]))  # a sha256 without version: the latest

    response = owner_api.delete(f"/api/datasets/{first['id']}/")

    assert response.status_code == 204


def test_deleting_a_version_a_registered_model_was_trained_on_is_refused_naming_the_model(world, owner_api):
    dataset = Dataset.objects.get(pk=world["dataset"]["id"])
    StepRun.objects.create(
        run=world["run"],
        node_id="load_upload",
        block_key="dataset.upload",
        block_version="1",
        position=2,
        status=StepStatus.SUCCEEDED,
        params={"dataset": dataset.artifact_id, "version": dataset.version, "name": dataset.name},
    )

    response = owner_api.delete(f"/api/datasets/{dataset.pk}/")

    assert response.status_code == 409
    assert response.json()["models"] == [{"id": world["version"]["id"], "name": "model-of-dep", "version": 1}]
    assert "model-of-dep v1" in response.json()["detail"]
    assert Dataset.objects.filter(pk=dataset.pk).exists()


# -- datasets: roles and workspaces ------------------------------------------------------


def test_a_viewer_cannot_rename_duplicate_or_delete_a_dataset(world, viewer):
    api = api_client_for(viewer)
    dataset = world["dataset"]["id"]

    answers = [
        api.patch(f"/api/datasets/{dataset}/", {"name": "mine"}, format="json"),
        api.post(f"/api/datasets/{dataset}/duplicate/", {}, format="json"),
        api.delete(f"/api/datasets/{dataset}/"),
    ]

    assert [a.status_code for a in answers] == [403, 403, 403]
    assert answers[0].json()["required_role"] == "editor"
    assert list(Dataset.objects.filter(workspace=world["workspace"]).values_list("name", flat=True)) == ["owner"]


def test_an_editor_renames_duplicates_and_deletes_a_dataset(world, editor):
    api = api_client_for(editor)
    dataset = world["dataset"]["id"]

    renamed = api.patch(f"/api/datasets/{dataset}/", {"name": "team table"}, format="json")
    copy = api.post(f"/api/datasets/{dataset}/duplicate/", {}, format="json")
    deleted = api.delete(f"/api/datasets/{copy.json()['id']}/")

    assert (renamed.status_code, copy.status_code, deleted.status_code) == (200, 201, 204)
    assert copy.json()["name"] == "team table (copy)"


def test_an_outsider_gets_a_bare_404_and_changes_nothing(world, outsider_api, outsider):
    dataset = world["dataset"]["id"]
    _upload(outsider_api, name="owner")  # the same name in the outsider's own workspace

    answers = [
        outsider_api.get(f"/api/datasets/{dataset}/"),
        outsider_api.patch(f"/api/datasets/{dataset}/", {"name": "mine"}, format="json"),
        outsider_api.post(f"/api/datasets/{dataset}/duplicate/", {}, format="json"),
        outsider_api.delete(f"/api/datasets/{dataset}/"),
    ]

    assert [(a.status_code, a.json()) for a in answers] == [(404, {"detail": "dataset not found"})] * 4
    assert Dataset.objects.get(pk=dataset).name == "owner"
    assert Dataset.objects.filter(workspace=personal(outsider)).count() == 1


# -- pages -------------------------------------------------------------------------------


def test_the_lists_offer_rename_duplicate_and_delete_to_editors_only(world, owner, viewer, client):
    pages = ["/pipelines/", "/datasets/", f"/datasets/{world['dataset']['id']}/"]

    client.force_login(owner)
    as_owner = [client.get(url).content.decode() for url in pages]
    client.force_login(viewer)
    as_viewer = [client.get(url).content.decode() for url in pages]

    for html in as_owner:
        assert 'data-manage="rename"' in html and 'data-manage="delete"' in html and 'id="manage-dialog"' in html
    for html in as_viewer:
        assert "data-manage=" not in html
    assert 'id="connection-form"' in as_owner[1]


def test_the_dataset_page_names_the_pipelines_that_load_the_version(owner_api, owner, client):
    dataset = _upload(owner_api)
    pipeline = _pipeline(owner_api, name="Uses sales", graph=_loads("sales"))
    client.force_login(owner)

    html = client.get(f"/datasets/{dataset['id']}/").content.decode()

    assert f'href="/pipelines/{pipeline["id"]}/edit/">Uses sales</a>' in html
    assert "(node load)" in html


def test_the_datasets_page_lists_connections_without_their_passwords(owner, client):
    from pipelines.services.connections import connection_create

    connection_create(
        workspace=personal(owner), user=owner, name="warehouse", host="db.internal", port=5433,
        database="sales", db_user="reader", password="s3cret-pass", test=False,
    )
    client.force_login(owner)

    html = client.get("/datasets/").content.decode()

    assert "reader@db.internal:5433/sales" in html
    assert "s3cret-pass" not in html


@pytest.mark.parametrize("count", [2, 20])
def test_the_datasets_page_query_count_does_not_grow_with_datasets_or_connections(
    owner, owner_api, client, count, django_assert_max_num_queries
):
    from pipelines.services.connections import connection_create

    for i in range(count):
        _upload(owner_api, name=f"d{i}")
        connection_create(
            workspace=personal(owner), user=owner, name=f"c{i}", host="db.internal", port=5432,
            database="x", db_user="x", password="", test=False,
        )
    client.force_login(owner)

    # session, user, memberships, datasets, connections, editable workspaces
    with django_assert_max_num_queries(7):
        response = client.get("/datasets/")

    assert response.status_code == 200

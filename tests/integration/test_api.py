"""The REST API on PostgreSQL: permissions, optimistic concurrency and bad input."""

import pytest

from pipelines.demo import breast_cancer_graph
from pipelines.graph.builder import GraphBuilder
from pipelines.models import Membership, Pipeline, Role, Workspace
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline(owner):
    workspace = Workspace.objects.get(personal_owner=owner)
    return Pipeline.objects.create(workspace=workspace, name="bc", graph=breast_cancer_graph())


@pytest.fixture
def member_api(make_user, pipeline):
    def make(role: str):
        user = make_user(f"{role}-member")
        Membership.objects.create(workspace=pipeline.workspace, user=user, role=role)
        return api_client_for(user)

    return make


# --- auth -----------------------------------------------------------------------------


def test_token_endpoint_returns_a_token_for_the_right_password(owner, client):
    response = client.post(
        "/api/auth/token/", {"username": "owner", "password": "pass-12345"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert len(response.json()["token"]) == 40


def test_token_endpoint_refuses_a_wrong_password(owner, client):
    response = client.post(
        "/api/auth/token/", {"username": "owner", "password": "nope"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "wrong username or password" in response.json()["detail"]


def test_anonymous_requests_are_refused(client):
    # Session authentication comes first, so an anonymous caller gets 403 (no WWW-Authenticate).
    assert client.get("/api/pipelines/").status_code == 403


def test_every_user_gets_a_personal_workspace_where_they_are_admin(owner_api):
    workspaces = owner_api.get("/api/workspaces/").json()
    assert [(w["personal"], w["role"]) for w in workspaces] == [(True, "admin")]


# --- workspace isolation ----------------------------------------------------------------


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", "/api/pipelines/{p}/"),
        ("patch", "/api/pipelines/{p}/"),
        ("delete", "/api/pipelines/{p}/"),
        ("post", "/api/pipelines/{p}/validate/"),
        ("get", "/api/pipelines/{p}/runs/"),
        ("post", "/api/pipelines/{p}/runs/"),
        ("get", "/api/pipelines/{p}/versions/"),
        ("get", "/api/workspaces/{w}/members/"),
    ],
)
def test_outsiders_get_404_for_another_workspaces_objects(outsider_api, pipeline, method, url):
    response = getattr(outsider_api, method)(
        url.format(p=pipeline.pk, w=pipeline.workspace_id), {}, format="json"
    )
    assert response.status_code == 404


def test_outsiders_do_not_see_other_workspaces_pipelines_in_lists(outsider_api, pipeline):
    assert outsider_api.get("/api/pipelines/").json()["results"] == []


def test_outsider_cannot_create_a_pipeline_in_another_workspace(outsider_api, pipeline):
    response = outsider_api.post(
        "/api/pipelines/", {"name": "x", "workspace": pipeline.workspace_id}, format="json"
    )
    assert response.status_code == 404


# --- roles ------------------------------------------------------------------------------------


def test_viewer_can_read_a_pipeline(member_api, pipeline):
    assert member_api(Role.VIEWER).get(f"/api/pipelines/{pipeline.pk}/").status_code == 200


def test_viewer_cannot_start_a_run(member_api, pipeline):
    response = member_api(Role.VIEWER).post(f"/api/pipelines/{pipeline.pk}/runs/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["required_role"] == "editor"


def test_viewer_cannot_edit_a_pipeline(member_api, pipeline):
    response = member_api(Role.VIEWER).patch(
        f"/api/pipelines/{pipeline.pk}/", {"version": 1, "name": "x"}, format="json"
    )
    assert response.status_code == 403


def test_editor_can_edit_a_pipeline(member_api, pipeline):
    response = member_api(Role.EDITOR).patch(
        f"/api/pipelines/{pipeline.pk}/", {"version": 1, "name": "renamed"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "renamed"


def test_editor_cannot_add_members(member_api, pipeline):
    response = member_api(Role.EDITOR).post(
        f"/api/workspaces/{pipeline.workspace_id}/members/", {"username": "owner", "role": "viewer"}, format="json"
    )
    assert response.status_code == 403


def test_admin_adds_a_member_who_then_sees_the_pipeline(owner_api, outsider_api, pipeline):
    response = owner_api.post(
        f"/api/workspaces/{pipeline.workspace_id}/members/",
        {"username": "outsider", "role": "viewer"},
        format="json",
    )
    assert response.status_code == 201
    assert outsider_api.get(f"/api/pipelines/{pipeline.pk}/").status_code == 200


def test_the_last_admin_cannot_be_removed(owner_api, pipeline):
    response = owner_api.delete(f"/api/workspaces/{pipeline.workspace_id}/members/owner/")
    assert response.status_code == 400
    assert "at least one admin" in response.json()["detail"]


# --- optimistic concurrency ------------------------------------------------------------


def test_a_stale_write_gets_409_and_does_not_overwrite(owner_api, pipeline):
    first = owner_api.patch(f"/api/pipelines/{pipeline.pk}/", {"version": 1, "name": "A"}, format="json")
    assert first.status_code == 200 and first.json()["version"] == 2

    stale = owner_api.patch(f"/api/pipelines/{pipeline.pk}/", {"version": 1, "name": "B"}, format="json")

    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert "saved by someone else" in stale.json()["detail"]
    pipeline.refresh_from_db()
    assert pipeline.name == "A"


def test_a_write_without_a_version_is_refused(owner_api, pipeline):
    response = owner_api.patch(f"/api/pipelines/{pipeline.pk}/", {"name": "B"}, format="json")
    assert response.status_code == 428
    assert response.json()["field"] == "version"


def test_if_match_header_carries_the_version(owner_api, pipeline):
    response = owner_api.patch(
        f"/api/pipelines/{pipeline.pk}/", {"name": "B"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200


# --- validation ----------------------------------------------------------------------------


def test_validate_returns_errors_keyed_by_node(owner_api, pipeline):
    graph = breast_cancer_graph()
    graph["nodes"][3]["params"]["C"] = -1
    response = owner_api.post(f"/api/pipelines/{pipeline.pk}/validate/", {"graph": graph}, format="json")
    body = response.json()
    assert response.status_code == 200
    assert body["valid"] is False
    assert list(body["errors"]) == ["logreg"]
    assert body["errors"]["logreg"][0].startswith("C:")


def test_starting_a_run_with_an_invalid_graph_returns_400_with_the_same_errors(owner_api, pipeline):
    graph = breast_cancer_graph()
    graph["nodes"][0]["params"]["name"] = "titanic"
    owner_api.patch(f"/api/pipelines/{pipeline.pk}/", {"version": 1, "graph": graph}, format="json")

    response = owner_api.post(f"/api/pipelines/{pipeline.pk}/runs/", {}, format="json")

    assert response.status_code == 400
    assert "iris" in response.json()["errors"]["load"][0]
    assert pipeline.runs.count() == 0


def test_an_uploaded_dataset_of_another_workspace_is_refused(owner_api, outsider_api, pipeline):
    upload = outsider_api.post("/api/datasets/", {"file": _csv(b"a,b\n1,2\n3,4\n")}, format="multipart")
    graph = GraphBuilder().node("load", "dataset.upload", dataset=upload.json()["sha256"]).build()
    response = owner_api.post(f"/api/pipelines/{pipeline.pk}/validate/", {"graph": graph}, format="json")
    assert response.json()["errors"]["load"] == ["dataset: no uploaded dataset with this name or id in this workspace"]


# --- bad input --------------------------------------------------------------------------------


def test_malformed_json_gets_400_naming_the_problem(owner_api):
    response = owner_api.generic("POST", "/api/pipelines/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_wrong_types_get_400_naming_the_field(owner_api):
    response = owner_api.post("/api/pipelines/", {"name": "x", "graph": [1, 2]}, format="json")
    assert response.status_code == 400
    assert "graph" in response.json()["fields"]


def test_a_graph_that_is_not_a_graph_is_refused_on_save(owner_api):
    response = owner_api.post(
        "/api/pipelines/", {"name": "x", "graph": {"nodes": "many"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("graph:")


def test_a_huge_body_gets_413(owner_api):
    response = owner_api.generic(
        "POST", "/api/pipelines/", '{"name": "' + "x" * 6_000_000 + '"}', content_type="application/json"
    )
    assert response.status_code == 413


def test_an_unknown_run_status_filter_is_a_400(owner_api):
    response = owner_api.get("/api/runs/?status=flying")
    assert response.status_code == 400
    assert "queued" in response.json()["detail"]


def test_a_missing_pipeline_is_a_json_404(owner_api):
    response = owner_api.get("/api/pipelines/999999/")
    assert response.status_code == 404
    assert response.json()["detail"] == "pipeline not found"


# --- CSV upload -------------------------------------------------------------------------------


def _csv(data: bytes, name: str = "data.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_a_csv_upload_infers_column_types(owner_api):
    response = owner_api.post(
        "/api/datasets/", {"file": _csv(b"age,city,score\n31,Oslo,1.5\n40,Rome,2.0\n")}, format="multipart"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["n_rows"] == 2
    assert [(c["name"], c["dtype"]) for c in body["columns"]] == [
        ("age", "int64"), ("city", "str"), ("score", "float64")
    ]


def test_a_csv_with_a_ragged_row_reports_the_line(owner_api):
    response = owner_api.post(
        "/api/datasets/", {"file": _csv(b"a,b\n1,2\n3,4,5,6\n")}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["line"] == 3


def test_a_csv_that_is_not_the_chosen_encoding_reports_line_and_column(owner_api):
    response = owner_api.post(
        "/api/datasets/",
        {"file": _csv("a,b\n1,caf\u00e9\n".encode("latin-1")), "encoding": "utf-8"},
        format="multipart",
    )
    body = response.json()
    assert response.status_code == 400
    assert (body["line"], body["column"], body["field"]) == (2, 6, "encoding")
    assert "not utf-8 text" in body["detail"]


def test_a_csv_that_is_not_utf8_is_read_as_windows_1252_when_the_encoding_is_detected(owner_api):
    response = owner_api.post("/api/datasets/", {"file": _csv("a,b\n1,caf\u00e9\n".encode("latin-1"))}, format="multipart")
    assert response.status_code == 201
    assert response.json()["preview"]["rows"] == [[1, "caf\u00e9"]]


def test_an_empty_csv_is_refused(owner_api):
    response = owner_api.post("/api/datasets/", {"file": _csv(b"")}, format="multipart")
    assert response.status_code == 400
    assert "empty" in response.json()["detail"]


def test_a_csv_over_the_size_limit_gets_413(owner_api, settings):
    settings.DATASET_MAX_BYTES = 100
    response = owner_api.post("/api/datasets/", {"file": _csv(b"a,b\n" + b"1,2\n" * 100)}, format="multipart")
    assert response.status_code == 413


def test_an_upload_without_a_file_names_the_field(owner_api):
    response = owner_api.post("/api/datasets/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["fields"]


# --- catalogue and schema ---------------------------------------------------------------------


def test_the_block_catalogue_lists_the_contract_blocks(owner_api):
    keys = {b["key"] for b in owner_api.get("/api/blocks/").json()["blocks"]}
    assert {"dataset.builtin", "dataset.upload", "data.split", "model.train", "model.evaluate", "model.predict"} <= keys
    assert "sklearn.ensemble.RandomForestClassifier" in keys


def test_openapi_schema_is_served(owner_api):
    response = owner_api.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/pipelines/" in response.content


def test_pipeline_list_query_count_does_not_grow_with_pipelines(owner, owner_api, django_assert_max_num_queries):
    workspace = Workspace.objects.get(personal_owner=owner)
    Pipeline.objects.bulk_create([Pipeline(workspace=workspace, name=f"p{i}") for i in range(30)])
    with django_assert_max_num_queries(6):
        response = owner_api.get("/api/pipelines/")
    assert response.json()["count"] == 30


def test_the_catalogue_answers_304_when_the_client_has_it(owner_api):
    first = owner_api.get("/api/blocks/")
    again = owner_api.get("/api/blocks/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert first.status_code == 200 and again.status_code == 304
    assert again.content == b""


def test_unknown_api_and_v2_paths_are_json_404s(owner_api):
    for path in ("/api/nothing-here/", "/v2/nothing/here"):
        response = owner_api.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "not found"}

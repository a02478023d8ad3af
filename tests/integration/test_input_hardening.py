"""Bad input of any kind gets a clear 4xx, never a 500.

Unicode digits, NUL characters, numbers past 64 bits and bodies that are not
objects, on every route that reads them. Each test compares a dict of
{request: status} with the one exact status each request must get, so a
failure lists every route that answers wrongly.
"""

from __future__ import annotations

import io
import json

import pytest
from django.utils import timezone

from pipelines.graph.builder import GraphBuilder
from pipelines.models import Deployment, PredictionLog, Run
from tests.integration.world import BIG, call

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_store")]


def test_unicode_digits_in_a_numeric_query_parameter_get_a_400(world, owner_api):
    # "²".isdigit() is True but int("²") raises ValueError.
    urls = [
        "/api/pipelines/?workspace=²",
        "/api/datasets/?workspace=²",
        "/api/models/?workspace=²",
        "/api/runs/?pipeline=²",
        f"/api/runs/{world['run'].pk}/compare/?other=²",
    ]

    answers = {url: call(owner_api, "get", url).status_code for url in urls}

    assert answers == dict.fromkeys(urls, 400)


def test_an_if_match_header_with_unicode_digits_gets_a_412(world, owner_api):
    response = call(
        owner_api,
        "patch",
        f"/api/pipelines/{world['pipeline'].pk}/",
        {"name": "x"},
        format="json",
        HTTP_IF_MATCH='"²"',
    )

    assert response.status_code == 412


def test_pages_answer_unicode_digits_in_numeric_form_fields_with_a_redirect_or_a_400(
    world, owner, client
):
    client.force_login(owner)
    upload = io.BytesIO(b"a,b\n1,2\n")
    upload.name = "x.csv"

    answers = {
        # back to the history with "tick exactly two runs"
        "compare": call(client, "get", f"/runs/compare/?run=²&run={world['run'].pk}").status_code,
        # the forms again, with an error
        "new pipeline": call(client, "post", "/pipelines/new/", {"template": "²"}).status_code,
        "dataset": call(
            client, "post", "/datasets/", {"file": upload, "workspace": "²"}
        ).status_code,
    }

    assert answers == {"compare": 302, "new pipeline": 400, "dataset": 400}


NUL_NAME_ROUTES = [
    ("get", "/api/deployments/bad%00name/"),
    ("get", "/api/deployments/bad%00name/keys/"),
    ("post", "/api/deployments/bad%00name/predict"),
    ("post", "/api/deployments/bad%00name/feedback"),
    ("get", "/v2/models/bad%00name"),
    ("get", "/v2/models/bad%00name/ready"),
    ("post", "/v2/models/bad%00name/infer"),
    ("get", "/deployments/bad%00name/"),
]


def test_a_nul_byte_in_a_deployment_name_is_a_404_on_every_route(owner, owner_api, client):
    client.force_login(owner)
    answers = {}
    for method, url in NUL_NAME_ROUTES:
        caller = client if url.startswith("/deployments/") else owner_api
        body = (
            {}
            if method == "get"
            else {"data": json.dumps({"instances": [{"a": 1}]}), "content_type": "application/json"}
        )
        answers[f"{method.upper()} {url}"] = call(caller, method, url, **body).status_code

    assert answers == {f"{method.upper()} {url}": 404 for method, url in NUL_NAME_ROUTES}


def test_a_nul_byte_in_a_model_name_filter_is_a_400(owner_api):
    assert call(owner_api, "get", "/api/models/?name=a%00b").status_code == 400


def test_a_nul_byte_in_a_member_name_is_a_404(world, owner_api):
    url = f"/api/workspaces/{world['workspace'].pk}/members/a%00b/"

    assert call(owner_api, "delete", url).status_code == 404


def test_a_nul_byte_in_a_new_pipelines_name_on_the_page_is_a_400(owner, client):
    client.force_login(owner)

    assert call(client, "post", "/pipelines/new/", {"name": "a\x00b"}).status_code == 400


def test_a_graph_or_a_label_holding_a_nul_character_is_refused_with_a_400(world, owner_api):
    graph = GraphBuilder().node("a\u0000", "dataset.builtin").build()
    PredictionLog.objects.create(
        deployment=Deployment.objects.get(name="dep"),
        request_id="req-1",
        status=200,
        n_rows=1,
        latency_ms=1.0,
        created_at=timezone.now(),
    )

    def post_json(method, url, body):
        return call(owner_api, method, url, json.dumps(body), content_type="application/json")

    answers = {
        "create": post_json("post", "/api/pipelines/", {"name": "x", "graph": graph}),
        "patch": post_json(
            "patch", f"/api/pipelines/{world['pipeline'].pk}/", {"version": 1, "graph": graph}
        ),
        "feedback": post_json(
            "post", "/api/deployments/dep/feedback", {"request_id": "req-1", "label": "\u0000"}
        ),
    }

    assert {name: r.status_code for name, r in answers.items()} == {
        "create": 400,
        "patch": 400,
        "feedback": 400,
    }


def test_a_node_timeout_past_64_bits_is_kept_in_the_draft_but_a_run_of_it_gets_a_400(
    world, owner_api
):
    # A draft may be invalid while it is being edited; validation stops it at the run.
    graph = (
        GraphBuilder()
        .node("load", "dataset.builtin", name="iris", options={"timeout_seconds": int(BIG)})
        .build()
    )
    pipeline = world["pipeline"].pk

    saved = call(
        owner_api, "patch", f"/api/pipelines/{pipeline}/", {"version": 1, "graph": graph}, format="json"
    )
    started = call(owner_api, "post", f"/api/pipelines/{pipeline}/runs/", {}, format="json")

    assert (saved.status_code, started.status_code) == (200, 400)
    errors = started.json()["errors"]
    assert list(errors) == ["load"]
    assert [message.split(":")[0] for message in errors["load"]] == ["timeout_seconds"]
    assert Run.objects.filter(pipeline=world["pipeline"]).count() == 3  # the fixture's runs only


def test_ids_past_64_bits_in_api_paths_and_queries_get_the_exact_4xx(world, owner_api):
    pipeline = world["pipeline"].pk
    expected = {
        f"/api/pipelines/{BIG}/": 404,
        f"/api/runs/{BIG}/": 404,
        f"/api/datasets/{BIG}/": 404,
        f"/api/models/{BIG}/": 404,
        f"/api/workspaces/{BIG}/members/": 404,
        f"/api/pipelines/{pipeline}/versions/{BIG}/": 404,
        f"/api/runs/{world['run'].pk}/compare/?other={BIG}": 400,
        f"/api/pipelines/?workspace={BIG}": 400,
        f"/api/runs/?pipeline={BIG}": 400,
        f"/api/pipelines/?limit={BIG}&offset={BIG}": 400,
    }

    answers = {url: call(owner_api, "get", url).status_code for url in expected}

    assert answers == expected


def test_ids_past_64_bits_in_request_bodies_get_the_exact_4xx(world, owner_api):
    bodies = {
        "/api/pipelines/": ({"name": "x", "workspace": BIG}, 400),  # past the largest id
        "/api/models/": ({"name": "m", "run": BIG, "node": "train"}, 400),
        "/api/deployments/": ({"name": "d", "model_version": BIG}, 400),
        "/api/deployments/dep/rollback/": ({"revision": BIG}, 400),
    }
    answers = {}
    for url, (body, _) in bodies.items():
        raw = json.dumps(body).replace(f'"{BIG}"', BIG)  # a bare JSON number, not a string
        answers[url] = call(owner_api, "post", url, raw, content_type="application/json").status_code

    assert answers == {url: status for url, (_, status) in bodies.items()}


def test_a_key_id_past_64_bits_is_a_404(world, owner_api):
    assert call(owner_api, "delete", f"/api/deployments/dep/keys/{BIG}/").status_code == 404


def test_a_pipeline_version_past_64_bits_in_an_edit_is_a_400_naming_the_field(world, owner_api):
    response = call(
        owner_api,
        "patch",
        f"/api/pipelines/{world['pipeline'].pk}/",
        json.dumps({"version": int(BIG), "name": "x"}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "version" in response.json()["fields"]


def test_ids_past_64_bits_in_page_urls_get_a_404_or_back_to_the_form(world, owner, client):
    expected = {
        f"/runs/{BIG}/": 404,
        f"/pipelines/{BIG}/runs/": 404,
        f"/runs/{world['run'].pk}/compare/{BIG}/": 404,
        f"/models/{BIG}/": 404,
        f"/datasets/{BIG}/": 404,
        f"/runs/compare/?run={BIG}&run=1": 302,
    }
    client.force_login(owner)

    answers = {url: call(client, "get", url).status_code for url in expected}

    assert answers == expected


def test_a_body_that_is_not_an_object_gets_a_400_everywhere(world, owner_api):
    urls = [
        "/api/workspaces/",
        f"/api/workspaces/{world['workspace'].pk}/members/",
        "/api/pipelines/",
        f"/api/pipelines/{world['pipeline'].pk}/validate/",
        f"/api/pipelines/{world['pipeline'].pk}/runs/",
        "/api/models/",
        "/api/deployments/",
        "/api/deployments/dep/rollback/",
        "/api/deployments/dep/keys/",
        "/api/auth/token/",
        "/api/deployments/dep/predict",
        "/api/deployments/dep/feedback",
        "/v2/models/dep/infer",
    ]
    answers, expected = {}, {}
    for body in ([1, 2], "text", 3, None):
        raw = json.dumps(body)
        for url in urls:
            response = call(owner_api, "post", url, raw, content_type="application/json")
            answers[f"POST {url} {raw}"] = response.status_code
            expected[f"POST {url} {raw}"] = 400

    assert answers == expected


@pytest.mark.parametrize("body", [[1, 2], "text", 3, None], ids=json.dumps)
def test_an_edit_whose_body_is_not_an_object_gets_a_400(world, owner_api, body):
    response = call(
        owner_api,
        "patch",
        f"/api/pipelines/{world['pipeline'].pk}/",
        json.dumps(body),
        content_type="application/json",
    )

    assert response.status_code == 400

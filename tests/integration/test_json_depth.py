"""JSON nested ~500 levels deep (about 1 KB) answers 400 naming the depth, never a 500:
refused once at the JSON boundary (the API's parser, the serving body parse)."""

from __future__ import annotations

import json

import pytest

from pipelines.models import Pipeline
from pipelines.serving import handler as serving_handler
from pipelines.serving.state import caches_clear
from tests.integration.serving_factories import ROW, asgi_request, bearer, deploy_with_key

DEEP = "[" * 500 + "]" * 500


def _graph_with_params(value: str) -> str:
    return (
        '{"nodes": [{"id": "load", "block": "dataset.builtin", "params": {"name": ' + value + "}, "
        '"position": {"x": 0, "y": 0}}], "edges": []}'
    )


def _refusal(depth: int) -> dict:
    return {"detail": f"the JSON body nests arrays and objects {depth} levels deep; at most 32 are allowed",
            "field": "body"}


def _post(client, url: str, raw: str):
    return client.generic("POST", url, raw.encode(), content_type="application/json")


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setattr(serving_handler, "LOG_PREDICTIONS", False)
    caches_clear()
    yield
    caches_clear()


@pytest.mark.django_db
def test_creating_a_pipeline_with_params_nested_500_deep_answers_400(owner_api):
    body = '{"name": "deep", "graph": ' + _graph_with_params(DEEP) + "}"
    assert len(body) < 1200

    response = _post(owner_api, "/api/pipelines/", body)

    assert response.status_code == 400
    assert response.json() == _refusal(505)
    assert not Pipeline.objects.filter(name="deep").exists()


@pytest.mark.django_db
def test_validating_a_graph_with_params_nested_500_deep_answers_400(owner_api):
    graph = json.loads(_graph_with_params('"iris"'))
    pipeline = owner_api.post("/api/pipelines/", {"name": "p", "graph": graph}, format="json")
    assert pipeline.status_code == 201, pipeline.content

    response = _post(owner_api, f"/api/pipelines/{pipeline.json()['id']}/validate/",
                     '{"graph": ' + _graph_with_params(DEEP) + "}")

    assert response.status_code == 400
    assert response.json() == _refusal(505)


@pytest.mark.django_db
def test_feedback_with_a_label_nested_500_deep_answers_400(owner, owner_api):
    key = deploy_with_key(owner_api, owner, "deep")

    response = _post(bearer(key), "/api/deployments/deep/feedback", '{"request_id": "r1", "label": ' + DEEP + "}")

    assert response.status_code == 400
    assert response.json() == _refusal(501)


@pytest.mark.django_db
def test_a_prediction_nested_500_deep_answers_400_through_django(owner, owner_api):
    key = deploy_with_key(owner_api, owner, "deep")

    response = _post(bearer(key), "/api/deployments/deep/predict", '{"instances": ' + DEEP + "}")

    assert response.status_code == 400
    assert {k: response.json()[k] for k in ("detail", "field")} == _refusal(501)


@pytest.mark.django_db(transaction=True)
def test_a_prediction_nested_500_deep_answers_400_on_the_asgi_fast_path(owner, owner_api):
    key = deploy_with_key(owner_api, owner, "deep")
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}

    status, out, _ = asgi_request("POST", "/api/deployments/deep/predict", headers=headers,
                                  body=('{"instances": ' + DEEP + "}").encode())
    ok, _, _ = asgi_request("POST", "/api/deployments/deep/predict", headers=headers,
                            body=json.dumps({"instances": [ROW]}).encode())

    assert status == 400
    assert {k: out[k] for k in ("detail", "field")} == _refusal(501)
    assert ok == 200


@pytest.mark.django_db
def test_params_nested_within_the_limit_are_not_refused_for_depth(owner_api):
    nested = "[" * 25 + "1" + "]" * 25  # 30 levels with the graph around it
    body = '{"name": "shallow", "graph": ' + _graph_with_params(nested) + "}"

    response = _post(owner_api, "/api/pipelines/", body)

    assert response.status_code == 201, response.content

"""Deployment names cannot be discovered: bad credentials answer 401 whatever the name,
a name the caller may not use answers exactly like a missing one, and a name taken in
another workspace is refused without saying so."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from pipelines.models import Deployment, Workspace
from pipelines.serving import handler as serving_handler
from pipelines.serving.state import caches_clear
from tests.conftest import api_client_for
from tests.integration.serving_factories import (
    ROW,
    asgi_request,
    bearer,
    deploy_with_key,
    register,
    trained_run,
)

MADE_UP = "Bearer mlsk_made-up-key-0000000000000000000000"
ROUTES = [
    ("POST", "/api/deployments/{}/predict", {"instances": [ROW]}),
    ("GET", "/v2/models/{}", None),
    ("GET", "/v2/models/{}/ready", None),
    ("POST", "/v2/models/{}/infer", {"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1.0]}]}),
    ("POST", "/api/deployments/{}/feedback", {"request_id": "r1", "label": 1}),
]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setattr(serving_handler, "LOG_PREDICTIONS", False)
    caches_clear()
    yield
    caches_clear()


@pytest.fixture
def dep(owner, owner_api):
    """The owner's deployment ``acme`` and its key."""
    return deploy_with_key(owner_api, owner, "acme")


def _ask(client, method: str, url: str, body) -> tuple[int, str]:
    if method == "GET":
        response = client.get(url)
    else:
        response = client.generic(method, url, json.dumps(body), content_type="application/json")
    return response.status_code, response.content.decode()


def _both(client, method, url, body) -> tuple[tuple[int, str], tuple[int, str]]:
    """The answers for the taken name ``acme`` and the free name ``nope``, with the name masked."""
    taken = _ask(client, method, url.format("acme"), body)
    free = _ask(client, method, url.format("nope"), body)
    return (taken[0], taken[1].replace("acme", "<n>")), (free[0], free[1].replace("nope", "<n>"))


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "body"), ROUTES, ids=lambda r: str(r)[:40])
def test_a_made_up_key_answers_401_for_a_taken_name_and_a_free_one_alike(dep, method, url, body):
    client = bearer(MADE_UP.split(" ", 1)[1])

    taken, free = _both(client, method, url, body)

    assert taken[0] == 401
    assert taken == free


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "body"), ROUTES, ids=lambda r: str(r)[:40])
def test_a_revoked_key_answers_401_for_a_taken_name_and_a_free_one_alike(dep, owner_api, method, url, body):
    key_id = owner_api.get("/api/deployments/acme/keys/").json()[0]["id"]
    assert owner_api.delete(f"/api/deployments/acme/keys/{key_id}/").status_code == 204

    taken, free = _both(bearer(dep), method, url, body)

    assert taken[0] == 401
    assert taken == free


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "body"), ROUTES, ids=lambda r: str(r)[:40])
def test_a_made_up_token_answers_401_for_a_taken_name_and_a_free_one_alike(dep, method, url, body):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    taken, free = _both(client, method, url, body)

    assert taken[0] == 401
    assert taken == free


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "body"), ROUTES, ids=lambda r: str(r)[:40])
def test_an_outsiders_valid_key_or_token_answers_404_for_a_foreign_name_and_a_free_one_alike(
    dep, outsider, outsider_api, method, url, body
):
    outsider_key = deploy_with_key(outsider_api, outsider, "odep")

    for client in (bearer(outsider_key), outsider_api):
        taken, free = _both(client, method, url, body)

        assert taken[0] == 404
        assert taken == free


@pytest.mark.django_db(transaction=True)
def test_the_asgi_fast_path_answers_a_made_up_key_with_401_for_a_taken_name_and_a_free_one(dep):
    answers = {}
    for name in ("acme", "nope"):
        for path in (f"/api/deployments/{name}/predict", f"/v2/models/{name}", f"/v2/models/{name}/ready"):
            method = "POST" if path.endswith("predict") else "GET"
            body = json.dumps({"instances": [ROW]}).encode() if method == "POST" else b""
            status, out, headers = asgi_request(method, path, headers={"authorization": MADE_UP}, body=body)
            answers[path.replace(name, "<n>")] = answers.get(path.replace(name, "<n>"), []) + [(status, out)]
            assert headers["www-authenticate"] == 'Bearer realm="predict"'

    assert all(len(pair) == 2 and pair[0] == pair[1] and pair[0][0] == 401 for pair in answers.values()), answers


@pytest.mark.django_db(transaction=True)
def test_the_asgi_fast_path_still_serves_the_deployments_own_key(dep):
    status, out, _ = asgi_request(
        "POST", "/api/deployments/acme/predict", headers={"authorization": f"Bearer {dep}"},
        body=json.dumps({"instances": [ROW]}).encode(),
    )

    assert status == 200 and out["deployment"] == "acme" and len(out["predictions"]) == 1


@pytest.mark.django_db
def test_a_name_taken_in_another_workspace_is_refused_without_saying_where(dep, outsider, outsider_api):
    version = register(outsider_api, trained_run(outsider), "theirs")

    response = outsider_api.post("/api/deployments/", {"name": "acme", "model_version": version["id"]}, format="json")

    assert response.status_code == 409
    assert response.json() == {"detail": "the name 'acme' is not available; choose another", "field": "name"}
    assert Deployment.objects.get(name="acme").workspace_id == Workspace.objects.get(personal_owner__username="owner").pk


@pytest.mark.django_db
def test_posting_a_name_of_your_own_workspace_makes_a_new_revision(dep, owner, owner_api):
    version = register(owner_api, trained_run(owner), "again")

    response = owner_api.post("/api/deployments/", {"name": "acme", "model_version": version["id"]}, format="json")

    assert response.status_code == 200
    assert sorted(r["revision"] for r in response.json()["revisions"]) == [1, 2]
    assert Deployment.objects.get(name="acme").current_revision.model_version_id == version["id"]


@pytest.mark.django_db
def test_a_members_token_still_predicts(dep, owner):
    status, _ = _ask(api_client_for(owner), "POST", "/api/deployments/acme/predict", {"instances": [ROW]})

    assert status == 200


@pytest.mark.django_db
def test_a_token_answered_404_predicts_as_soon_as_its_user_joins_the_workspace(dep, owner, outsider, outsider_api):
    from pipelines.models import Membership, Role

    assert _ask(outsider_api, "POST", "/api/deployments/acme/predict", {"instances": [ROW]})[0] == 404
    Membership.objects.create(workspace=Workspace.objects.get(personal_owner=owner), user=outsider, role=Role.VIEWER)

    assert _ask(outsider_api, "POST", "/api/deployments/acme/predict", {"instances": [ROW]})[0] == 200


@pytest.mark.django_db
def test_a_token_with_a_nul_character_answers_401_not_500(dep):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token abc\x00def")

    assert _ask(client, "POST", "/api/deployments/acme/predict", {"instances": [ROW]})[0] == 401

"""/deployments/: every deployment of the user's workspaces, with its model version,
status and last hour's traffic, in a fixed number of queries; and the site's error pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from pipelines.models import Deployment, PredictionLog
from tests.integration.world import deploy, trained_run

pytestmark = pytest.mark.django_db


def _log(deployment: Deployment, *, status: int = 200, minutes_ago: float = 5, latency: float = 4.0):
    PredictionLog.objects.create(
        deployment=deployment,
        model_version=deployment.current_revision.model_version,
        request_id=f"r-{PredictionLog.objects.count()}",
        status=status,
        n_rows=1,
        latency_ms=latency,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _row(html: str, name: str) -> str:
    match = re.search(rf'<tr>\s*<td><a class="strong-link" href="/deployments/{name}/">.*?</tr>', html, re.S)
    assert match, f"no row for {name}"
    return match.group(0)


def test_deployment_index_lists_model_version_status_and_last_hour_traffic(
    isolated_store, owner, owner_api, outsider, outsider_api
):
    run = trained_run(owner)
    deploy(owner_api, run, "busy")
    deploy(owner_api, run, "quiet")
    deploy(outsider_api, trained_run(outsider), "theirs")
    busy = Deployment.objects.get(name="busy")
    for _ in range(3):
        _log(busy)
    _log(busy, status=500)
    _log(busy, minutes_ago=120)  # outside the hour

    response = _browser(owner).get("/deployments/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "theirs" not in html
    busy_row = _row(html, "busy")
    assert "model-of-busy" in busy_row and "v1" in busy_row
    assert re.search(r'<td class="num">4</td>', busy_row), busy_row
    assert "Errors" in busy_row and "(25%)" in busy_row
    quiet_row = _row(html, "quiet")
    assert "Idle" in quiet_row
    assert 'href="/deployments/" class="active"' in html


# Session, user, the user's workspaces, deployments (+ revision, model, workspace), traffic,
# the nav's count of firing alerts.
INDEX_QUERIES = 6


def test_deployment_index_asks_the_same_number_of_queries_for_one_or_many_deployments(
    isolated_store, owner, owner_api, django_assert_num_queries
):
    run = trained_run(owner)
    deploy(owner_api, run, "first")
    _log(Deployment.objects.get(name="first"))
    browser = _browser(owner)
    with django_assert_num_queries(INDEX_QUERIES):
        assert browser.get("/deployments/").status_code == 200
    for n in range(4):
        deploy(owner_api, run, f"more-{n}")
        _log(Deployment.objects.get(name=f"more-{n}"))

    with django_assert_num_queries(INDEX_QUERIES):
        response = browser.get("/deployments/")
    assert response.content.decode().count('class="strong-link" href="/deployments/') == 5


def test_unknown_page_answers_404_in_the_site_layout(owner):
    response = _browser(owner).get("/no/such/page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert 'class="topbar"' in html and 'href="/deployments/"' in html
    assert "Page not found" in html and "/no/such/page/" in html


def test_unknown_api_path_still_answers_json_404(owner):
    response = _browser(owner).get("/api/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"detail": "not found"}


def test_forbidden_page_answers_403_in_the_site_layout_and_api_answers_json(rf, owner):
    from django.core.exceptions import PermissionDenied

    from pipelines.api.errors import api_permission_denied

    request = rf.get("/pipelines/1/edit/")
    request.user = owner
    page = api_permission_denied(request, PermissionDenied("editors only"))
    assert page.status_code == 403
    assert 'class="topbar"' in page.content.decode() and "Editors only" in page.content.decode()

    api = api_permission_denied(rf.get("/api/pipelines/1/"), PermissionDenied("editors only"))
    assert api.status_code == 403 and api["Content-Type"] == "application/json"


def test_server_error_page_uses_the_site_layout_and_api_answers_json(rf):
    from pipelines.api.errors import api_server_error

    page = api_server_error(rf.get("/pipelines/"))
    assert page.status_code == 500
    html = page.content.decode()
    assert 'class="topbar"' in html and "Something went wrong" in html

    api = api_server_error(rf.get("/api/pipelines/"))
    assert api.status_code == 500 and api["Content-Type"] == "application/json"

"""The monitoring pages on the server: who sees what, and a fixed number of queries."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from pipelines.services.monitoring import monitoring_window_compute
from tests.integration.monitoring_factories import (
    deploy_monitored,
    log_traffic,
    traffic,
    upload_dataset,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_store")]

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def watched(owner, owner_api):
    deployment = deploy_monitored(owner_api, owner)
    log_traffic(deployment, traffic(300, seed=1, cities=["paris", "atlantis"]), at=DAY)
    monitoring_window_compute(deployment=deployment, start=DAY, end=DAY + timedelta(days=1))
    return deployment


def test_a_viewer_sees_the_page_without_the_compute_button(watched, viewer):
    response = browser(viewer).get("/deployments/watched/monitoring/?window=day")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="monitoring-status"' in html
    assert 'id="compute-now"' not in html


def test_an_editor_gets_the_compute_button_for_the_current_window(watched, editor):
    html = browser(editor).get("/deployments/watched/monitoring/?window=hour").content.decode()
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert f'data-start="{now.isoformat().replace("+00:00", "Z")}"' in html


def test_stored_windows_in_the_span_are_drawn_with_their_quality_table(owner, owner_api):
    deployment = deploy_monitored(owner_api, owner)
    yesterday = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    log_traffic(deployment, traffic(300, seed=1, cities=["paris", "atlantis"]), at=yesterday)
    monitoring_window_compute(deployment=deployment, start=yesterday, end=yesterday + timedelta(days=1))

    html = browser(owner).get("/deployments/watched/monitoring/").content.decode()

    assert html.count("data-vega-chart") == 9  # seven timelines, the heatmap, the distribution
    assert "categories never seen in training (atlantis)" in html
    assert 'data-testid="monitoring-status" data-status="warning"' in html or 'data-status="alert"' in html


def test_a_viewer_sees_the_reference_but_not_its_control(watched, viewer):
    html = browser(viewer).get("/deployments/watched/monitoring/").content.decode()

    assert 'data-testid="reference-current" data-kind="training">training data<' in html
    assert 'id="reference-form"' not in html


def test_an_editor_picks_the_reference_among_the_workspaces_datasets(watched, editor, owner_api, outsider_api):
    mine = upload_dataset(owner_api, traffic(50, seed=2), "baseline")
    upload_dataset(outsider_api, traffic(50, seed=3), "not-here")

    html = browser(editor).get("/deployments/watched/monitoring/").content.decode()

    assert 'id="reference-form"' in html
    assert f'<option value="{mine["id"]}" data-name="baseline" data-version="1"' in html
    assert "not-here" not in html


def test_the_request_rate_chart_counts_requests_per_bucket_of_each_window(owner, owner_api):
    """300 rows in 30 requests over 50 minutes from 02:00: the day's hourly buckets hold them all
    at 02:00 (30 requests in the hour: 0.5 a minute), the other hours none."""
    deployment = deploy_monitored(owner_api, owner)
    yesterday = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    log_traffic(deployment, traffic(300, seed=1), at=yesterday + timedelta(hours=2))
    window = monitoring_window_compute(deployment=deployment, start=yesterday, end=yesterday + timedelta(days=1))

    assert window.report["requests_by"] == {"bucket_seconds": 3600, "counts": [0, 0, 30] + [0] * 21}
    assert window.report["request_rate_per_min"] == round(30 / 1440, 6)
    html = browser(owner).get("/deployments/watched/monitoring/").content.decode()
    spec = next(s for s in re.findall(r"<script[^>]*>(\{.*?\})</script>", html, re.S) if '"Request rate"' in s)
    values = json.loads(spec)["data"]["values"]
    assert len(values) == 24
    assert [v["rate"] for v in values if v["requests"]] == [0.5]


def test_an_outsider_gets_404_for_the_page(watched, outsider):
    assert browser(outsider).get("/deployments/watched/monitoring/").status_code == 404


def test_the_overview_lists_only_the_users_deployments_with_their_health(watched, outsider, outsider_api):
    deploy_monitored(outsider_api, outsider, name="theirs")

    mine = browser(watched.created_by).get("/monitoring/").content.decode()
    theirs = browser(outsider).get("/monitoring/").content.decode()

    assert 'href="/deployments/watched/monitoring/"' in mine and "theirs" not in mine
    assert 'data-status="insufficient_data"' in theirs and "watched" not in theirs
    assert 'href="/monitoring/" class="active"' in mine


# Session, user, the user's workspaces, deployments (+ revision, model, workspace), latest windows,
# and the nav's firing-alert count.
OVERVIEW_QUERIES = 6


def test_the_overview_asks_the_same_number_of_queries_for_one_or_many_deployments(
    watched, owner, owner_api, django_assert_num_queries
):
    client = browser(owner)
    with django_assert_num_queries(OVERVIEW_QUERIES):
        assert client.get("/monitoring/").status_code == 200
    for n in range(3):
        deployment = deploy_monitored(owner_api, owner, name=f"more-{n}")
        monitoring_window_compute(deployment=deployment, start=DAY, end=DAY + timedelta(days=1))

    with django_assert_num_queries(OVERVIEW_QUERIES):
        response = client.get("/monitoring/")
    assert response.content.decode().count('class="strong-link" href="/deployments/') == 4

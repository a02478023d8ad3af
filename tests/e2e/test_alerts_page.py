"""The alerts inbox in real Chromium: the nav badge counts firing alerts, the chart is
drawn, and an editor acknowledges an alert from the list."""

from __future__ import annotations

import pytest

from pipelines.models import Alert, AlertRule, Deployment
from pipelines.services.alerts import alert_rules_evaluate
from tests.integration.alert_windows import window
from tests.integration.serving_factories import deploy_with_key

from .conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _firing_alerts(owner, owner_api) -> list[Alert]:
    deploy_with_key(owner_api, owner, "churn-api")
    deploy_with_key(owner_api, owner, "fraud-api")
    for name in ("churn-api", "fraud-api"):
        AlertRule.objects.filter(deployment__name=name, signal="latency_p95_ms").update(consecutive=1)
    churn, fraud = Deployment.objects.get(name="churn-api"), Deployment.objects.get(name="fraud-api")
    alert_rules_evaluate(churn, window(1, share=0.6, drifted=("a",)))
    alert_rules_evaluate(churn, window(2, share=0.0))  # resolves the drift alert
    alert_rules_evaluate(fraud, window(2, p95=1800.0, error_rate=0.02))
    return list(Alert.objects.order_by("id"))


def test_the_inbox_lists_alerts_with_a_nav_badge_and_an_editor_acknowledges_one(login, owner, owner_api, live_server):
    alerts = _firing_alerts(owner, owner_api)
    firing = [a for a in alerts if a.status == "firing"]
    assert len(firing) == 1 and firing[0].signal == "latency_p95_ms"
    page = login(owner)

    page.goto(f"{live_server.url}/pipelines/")
    assert page.locator(".mainnav .nav-badge").text_content() == "1"
    page.click(".mainnav a[href='/alerts/']")
    page.wait_for_url(f"{live_server.url}/alerts/")
    page.locator(".vega-chart svg, .vega-chart canvas").first.wait_for()
    row = page.locator(f"#alert-{firing[0].pk}")
    assert "fraud-api" in row.text_content() and "≥ 1,000" in row.text_content()
    assert page.locator("tr[data-status=resolved]").count() == 1
    screenshot(page, "alerts-inbox")

    row.locator("[data-ack]").click()
    page.wait_for_selector(f"#alert-{firing[0].pk}[data-status=acknowledged]")
    assert page.locator(".mainnav .nav-badge").count() == 0
    assert "ack by owner" in page.locator(f"#alert-{firing[0].pk}").text_content()
    Alert.objects.get(pk=firing[0].pk).status == "acknowledged"  # noqa: B015 - checked on the page above
    page.click("[data-status=resolved].tab")
    assert page.locator("tbody tr").count() == 1
    screenshot(page, "alerts-inbox-resolved")
    assert page.errors == []


def test_a_viewer_sees_alerts_but_no_acknowledge_button(login, owner, owner_api, live_server, make_user):
    from pipelines.models import Membership, Role, Workspace

    _firing_alerts(owner, owner_api)
    viewer = make_user("viewer")
    Membership.objects.create(workspace=Workspace.objects.get(personal_owner=owner), user=viewer, role=Role.VIEWER)
    page = login(viewer)

    page.goto(f"{live_server.url}/alerts/")
    assert page.locator("tbody tr").count() == 2
    assert page.locator("[data-ack]").count() == 0

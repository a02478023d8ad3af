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


def test_an_editor_adds_a_webhook_rule_sees_its_secret_once_and_sets_a_retrain_policy(
    login, owner, owner_api, live_server
):
    from pipelines.graph.builder import GraphBuilder
    from pipelines.models import Pipeline, RetrainPolicy, Workspace

    deploy_with_key(owner_api, owner, "churn-api")
    graph = (GraphBuilder().node("load", "dataset.builtin", name="iris")
             .node("logreg", "sklearn.linear_model.LogisticRegression").node("train", "model.train", target="target")
             .edge("load.table", "train.table").edge("logreg.estimator", "train.estimator").build())
    pipeline = Pipeline.objects.create(workspace=Workspace.objects.get(personal_owner=owner), name="churn retrain",
                                       graph=graph, created_by=owner)
    page = login(owner)

    page.goto(f"{live_server.url}/deployments/churn-api/")
    page.click("text=Alerts & retraining")
    page.wait_for_url(f"{live_server.url}/deployments/churn-api/alerts/")
    defaults = page.locator("tr[data-rule]").count()
    assert defaults >= 4

    page.select_option("#rule-signal", "performance")
    assert page.locator("#rule-compare").text_content() == "<"
    page.fill("#rule-threshold", "0.85")
    page.fill("#rule-form [name=webhook]", "http://169.254.169.254/latest/")
    page.click("[data-testid=add-rule]")
    page.locator("#page-error").wait_for()
    assert "channels[0].target" in page.locator("#page-error").text_content()

    page.fill("#rule-form [name=webhook]", "http://127.0.0.1:9000/hooks/mlops")
    page.click("[data-testid=add-rule]")
    page.locator("#secret-box").wait_for()
    assert page.locator("#secret-value").text_content().startswith("whsec_")
    screenshot(page, "deployment-alerts-secret")
    page.click("#secret-done")
    page.wait_for_selector(f"tr[data-rule]:nth-child({defaults + 1})")
    assert "127.0.0.1:9000" in page.locator("tr[data-rule]").last.text_content()
    assert "whsec_" not in page.content()

    page.select_option("#retrain-form [name=pipeline]", str(pipeline.pk))
    page.uncheck("#retrain-form [name=on][value=performance]")
    assert not page.is_checked("[data-testid=auto-champion]")  # opt-in
    page.check("[data-testid=auto-champion]")
    page.click("[data-testid=save-retrain]")
    page.wait_for_selector("#retrain-remove")
    policy = RetrainPolicy.objects.get(deployment__name="churn-api")
    assert (policy.pipeline_id, policy.on, policy.consecutive) == (pipeline.pk, ["drift"], 2)
    assert policy.auto_champion and page.is_checked("[data-testid=auto-champion]")
    screenshot(page, "deployment-retrain-auto-champion")

    first = page.locator("[data-toggle]").first
    first.uncheck()
    page.wait_for_selector("tr.rule-off")
    assert AlertRule.objects.filter(deployment__name="churn-api", enabled=False).count() == 1
    screenshot(page, "deployment-alerts")
    assert page.errors == []

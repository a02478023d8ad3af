"""The model card page (with RAI reports and charts), an edit from the page, and the audit page, in Chromium.

Set SCREENSHOT_DIR to keep full-page screenshots.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.models import AuditEvent, Membership, Role
from pipelines.serving.state import caches_clear
from tests.integration.test_model_cards import _with_rai_steps
from tests.integration.world import personal, trained_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _shot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture(autouse=True)
def _fresh_caches():
    caches_clear()
    yield
    caches_clear()


def test_card_page_shows_reports_and_saves_an_edit_as_a_revision(login, live_server, owner, owner_api):
    run = trained_run(owner)
    _with_rai_steps(run)
    version = owner_api.post("/api/models/", {"name": "loans", "run": run.pk, "node": "train"}, format="json").json()
    page = login(owner)
    page.goto(f"{live_server.url}/models/{version['id']}/")
    page.click("[data-testid=open-card]")
    page.wait_for_url(f"{live_server.url}/models/{version['id']}/card/")
    assert "0.5" in page.locator("[data-testid=card-fairness]").inner_text()
    assert page.locator("[data-testid=card-by-group] .mc-bar").count() == 4  # 2 metrics × 2 groups
    assert page.locator("[data-testid=card-features] .mc-bar").count() == 2
    _shot(page, "model_card")

    page.fill("#ethical_considerations", "Decides on loans: check the group gap before every promotion.")
    page.click("[data-testid=card-edit] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/models/{version['id']}/card/")
    assert "check the group gap" in page.locator("[data-testid=card-considerations]").inner_text()
    assert "r1" in page.locator("[data-testid=card-revisions]").inner_text()
    assert "considerations.ethical_considerations" in page.locator("[data-testid=card-diff]").inner_text()
    _shot(page, "model_card_edited")

    printable = page.context.new_page()
    printable.goto(f"{live_server.url}/api/registered-models/loans/versions/1/card/?format=html")
    assert "check the group gap" in printable.locator("[data-testid=card-considerations]").inner_text()
    _shot(printable, "model_card_print")
    assert not page.errors


def test_audit_page_for_admins_filters_and_verifies(login, live_server, owner, owner_api, make_user):
    run = trained_run(owner)
    owner_api.post("/api/models/", {"name": "loans", "run": run.pk, "node": "train"}, format="json")
    owner_api.post("/api/pipelines/", {"name": "p2"}, format="json")
    page = login(owner)
    page.goto(f"{live_server.url}/audit/")
    rows = page.locator("[data-testid=audit-table] tbody tr")
    assert rows.count() == AuditEvent.objects.filter(workspace=personal(owner)).count() == 2
    page.select_option("select[name=action]", "model.register")
    page.click("[data-testid=audit-filters] button:has-text('Filter')")
    assert page.locator("[data-testid=audit-table] tbody tr").count() == 1
    page.click("[data-testid=audit-verify]")
    assert "Chain intact" in page.locator("[data-testid=audit-verified]").inner_text()
    _shot(page, "audit")

    editor = make_user("ed")
    Membership.objects.create(workspace=personal(owner), user=editor, role=Role.EDITOR)
    other = login(editor)
    other.goto(f"{live_server.url}/audit/?workspace={personal(owner).pk}")
    assert "Not allowed" in other.content() or "admin" in other.content()
    assert not page.errors

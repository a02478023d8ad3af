"""Small things a new user tripped over in the editor, checked in real Chromium:
where a dropped block lands, auto-layout spacing, the run link, form patterns."""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from pipelines.demo import DEMO_PIPELINES, breast_cancer_graph
from pipelines.graph.builder import GraphBuilder
from pipelines.models import Run, RunStatus
from pipelines.services.pipelines import pipeline_version_snapshot

from .conftest import screenshot
from .test_editor import make_pipeline, open_editor

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Space auto-layout leaves between two blocks, in canvas units (screen px at zoom 1).
MIN_GAP = 48


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="ada", password="pass-12345")


def _inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"]
        and inner["y"] >= outer["y"]
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"]
    )


def _gap(a: dict, b: dict) -> float:
    """Distance between two boxes (negative when they overlap)."""
    dx = max(b["x"] - (a["x"] + a["width"]), a["x"] - (b["x"] + b["width"]))
    dy = max(b["y"] - (a["y"] + a["height"]), a["y"] - (b["y"] + b["height"]))
    return max(dx, dy)


def test_a_block_dropped_at_the_canvas_edge_lands_wholly_inside_the_canvas(login, live_server, user):
    page = open_editor(login, live_server, user, make_pipeline(user))
    canvas = page.get_by_test_id("canvas")
    search = page.get_by_test_id("palette-search")
    search.fill("builtin")
    page.get_by_test_id("palette-dataset.builtin").drag_to(canvas, target_position={"x": 4, "y": 4})

    node = page.locator(".react-flow__node").first
    expect(node).to_be_visible()
    screenshot(page, "editor_after_drop")
    assert _inside(node.bounding_box(), canvas.bounding_box()), (node.bounding_box(), canvas.bounding_box())
    assert page.errors == []


@pytest.mark.parametrize("demo", range(len(DEMO_PIPELINES)))
def test_auto_layout_leaves_space_between_every_two_blocks(login, live_server, user, demo):
    graph = DEMO_PIPELINES[demo]["graph"]()
    page = open_editor(login, live_server, user, make_pipeline(user, graph))
    expect(page.locator(".react-flow__node")).to_have_count(len(graph["nodes"]))

    page.get_by_role("button", name="Auto-layout").click()
    page.wait_for_timeout(600)  # the fit-view animation
    screenshot(page, f"editor_after_auto_layout_{demo}")

    zoom = page.evaluate(
        "new DOMMatrix(getComputedStyle(document.querySelector('.react-flow__viewport')).transform).a"
    )
    boxes = {n.get_attribute("data-id"): n.bounding_box() for n in page.locator(".react-flow__node").all()}
    for (a, box_a), (b, box_b) in combinations(boxes.items(), 2):
        gap = _gap(box_a, box_b) / zoom
        assert gap >= MIN_GAP, f"{a} and {b} are {gap:.0f} units apart"
    assert page.errors == []


def test_run_details_opens_in_a_new_tab_as_its_icon_says(login, live_server, user):
    pipeline = make_pipeline(user, breast_cancer_graph())
    version = pipeline_version_snapshot(pipeline=pipeline, user=user)
    Run.objects.create(
        workspace=pipeline.workspace, pipeline=pipeline, pipeline_version=version,
        status=RunStatus.FAILED, created_by=user, error="stopped",
    )
    page = open_editor(login, live_server, user, pipeline)

    link = page.get_by_role("link", name="Run details")
    expect(link).to_be_visible()
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in (link.get_attribute("rel") or "")
    expect(page.get_by_test_id("save-state")).to_contain_text(f"last run on v{version.number}")


def test_every_pattern_attribute_in_the_templates_compiles_as_browsers_read_it(login, live_server, user):
    # Chromium compiles pattern="" with the regular expression `v` flag, where "-" and
    # other class characters must be escaped; an invalid one is ignored with a warning.
    patterns = {
        f"{path.name}: {m}": m.replace("&amp;", "&")
        for path in Path(settings.BASE_DIR, "templates").rglob("*.html")
        for m in re.findall(r'\bpattern="([^"]+)"', path.read_text())
    }
    assert patterns, "no pattern attributes found: the test reads the wrong folder"
    page = login(user)
    page.goto(f"{live_server.url}/pipelines/")
    invalid = page.evaluate(
        """(patterns) => Object.entries(patterns).filter(([, p]) => {
               try { new RegExp("^(?:" + p + ")$", "v"); return false; } catch { return true; }
           }).map(([where]) => where)""",
        patterns,
    )
    assert invalid == []


def test_an_int_or_fraction_parameter_takes_a_count_and_names_both_alternatives_when_wrong(
    login, live_server, user
):
    graph = GraphBuilder().node(
        "gb", "sklearn.ensemble.GradientBoostingClassifier", at=(0, 0), min_samples_split=5
    ).build()
    page = open_editor(login, live_server, user, make_pipeline(user, graph))
    page.get_by_test_id("node-gb").locator(".ed-node-title").click()
    field = page.get_by_test_id("field-min_samples_split")
    field.scroll_into_view_if_needed()

    expect(field.get_by_role("combobox")).to_have_value("0")  # the integer alternative
    expect(field.get_by_test_id("field-error")).to_have_count(0)

    page.locator("#param-gb-min_samples_split").fill("1.5")
    expect(field.get_by_test_id("field-error")).to_have_text(
        "must be a whole number with 2 ≤ value or a number with 0 < value ≤ 1"
    )
    assert page.errors == []

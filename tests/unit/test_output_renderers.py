"""One server-side renderer per output kind; a new kind needs one registration."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.execution.summaries import KIND_OF_PORT_TYPE
from pipelines.views import outputs
from pipelines.views.outputs import RENDERERS, render_output, render_step_outputs, renderer

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture
def renderers(monkeypatch):
    """The registry, restored after the test."""
    monkeypatch.setattr(outputs, "RENDERERS", dict(RENDERERS))
    return outputs.RENDERERS


def test_a_new_output_kind_needs_one_registration(renderers):
    summary = {"outputs": {"cohorts": {"type": "report", "kind": "survival", "by_cohort": {"a": 1}}}}
    before = render_step_outputs(summary)[0]

    @renderer("survival", "pages/outputs/survival.html")
    def survival_view(values):
        return {"cohorts": sorted(values["by_cohort"])}

    after = render_step_outputs(summary)[0]

    assert before.template == "pages/outputs/json.html"  # shown, generically, before
    assert (after.kind, after.template, after.data) == ("survival", "pages/outputs/survival.html", {"cohorts": ["a"]})


def test_every_kind_a_port_type_implies_has_a_renderer_with_a_template_on_disk():
    for kind in {*KIND_OF_PORT_TYPE.values(), "tuning", "json", "bias", "fairness", "explanation"}:
        assert kind in RENDERERS, kind
        assert (TEMPLATES / RENDERERS[kind].template).is_file(), RENDERERS[kind].template


def test_the_tuning_renderer_puts_the_best_candidate_first_and_forward():
    report = {
        "scoring": "accuracy",
        "results": [
            {"rank": 1, "params": {"C": 1}, "mean_score": 0.98, "std_score": 0.01},
            {"rank": None, "params": {"C": -1}, "mean_score": None, "error": "bad C"},
        ],
        "headline": {"name": "cv accuracy", "value": 0.98},
    }

    shown = render_output("report", "tuning", report)

    assert shown.headline == {"name": "cv accuracy", "value": 0.98}
    assert [r["params"] for r in shown.data["rows"]] == ["C=1", "C=-1"]
    assert "bar" in shown.data["rows"][0] and "bar" not in shown.data["rows"][1]


def test_the_metrics_renderer_shades_the_confusion_matrix_and_skips_nested_values():
    shown = render_output(
        "metrics",
        "metrics",
        {"accuracy": 0.5, "per_class": {"a": 1}, "confusion_matrix": {"labels": [0, 1], "matrix": [[4, 0], [2, 2]]}},
    )

    assert shown.data["scalars"] == [("accuracy", 0.5)]
    cells = shown.data["confusion"]["rows"][1]["cells"]
    assert [c["shade"] for c in cells] == [0.5, 0.5] and cells[1]["diagonal"]


def test_an_object_without_steps_and_an_empty_report_have_nothing_to_show():
    assert not render_output("model", "object", {}).has_content
    assert not render_output("report", "report", {}).has_content
    assert render_output("t", "table", {"rows": 0}).has_content

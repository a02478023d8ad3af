"""Charts on the server-rendered pages: the spec travels to the page next to its drawing target."""

from __future__ import annotations

import json
import re

from django.template.loader import render_to_string

from pipelines.views.outputs import render_output, render_step_outputs

SPEC = {
    "title": "Distribution of age",
    "description": "150 rows",
    "data": {"values": [{"bin_start": 0, "bin_end": 1, "count": 3}]},
    "mark": {"type": "bar"},
    "encoding": {"x": {"field": "bin_start", "type": "quantitative"}},
}


def included(o) -> str:
    return render_to_string(o.template, {"out": o.data, "port": o.port, "kind": o.kind, "type": o.type})


def specs_in(html: str) -> list[dict]:
    return [json.loads(s) for s in re.findall(r'<script type="application/json">(.*?)</script>', html, re.S)]


def test_a_chart_output_puts_its_spec_in_the_page_beside_the_element_it_is_drawn_into():
    shown = render_step_outputs({"outputs": {"chart": {"type": "chart", "kind": "chart", **SPEC}}})[0]
    html = included(shown)
    assert "data-vega-chart" in html and 'class="vega-chart-view"' in html
    assert specs_in(html) == [SPEC]
    assert "<strong>Distribution of age</strong> — 150 rows" in html  # words until it is drawn


def test_a_spec_with_html_in_its_text_cannot_break_out_of_its_script():
    shown = render_output("chart", "chart", {**SPEC, "title": "</script><script>alert(1)</script>"})
    html = included(shown)
    assert "<script>alert(1)" not in html
    assert specs_in(html)[0]["title"] == "</script><script>alert(1)</script>"


def test_the_metrics_output_draws_the_charts_model_evaluate_attached():
    other = {**SPEC, "title": "ROC curve"}
    shown = render_output("metrics", "metrics", {"accuracy": 0.9, "charts": [SPEC, other, {"title": "no mark"}]})
    assert [c["title"] for c in shown.data["charts"]] == ["Distribution of age", "ROC curve"]
    assert ("charts", [SPEC, other]) not in shown.data["scalars"]
    html = included(shown)
    assert [s["title"] for s in specs_in(html)] == ["Distribution of age", "ROC curve"]


def test_an_empty_chart_shows_nothing():
    assert not render_output("chart", "chart", {"title": "nothing"}).has_content


def test_a_chart_brings_the_script_that_draws_it_so_any_page_showing_one_draws_it(tmp_path, settings):
    manifest = tmp_path / ".vite" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps({
        "src/charts.ts": {"file": "assets/charts-1.js", "imports": ["_shared.js"]},
        "_shared.js": {"file": "assets/shared-2.js", "css": ["assets/charts-3.css"]},
    }))
    settings.FRONTEND_DIST = tmp_path
    html = included(render_output("chart", "chart", SPEC))
    assert '<script type="module" src="/static/assets/charts-1.js"></script>' in html
    assert '<link rel="stylesheet" href="/static/assets/charts-3.css">' in html

    settings.FRONTEND_DIST = tmp_path / "not-built"
    assert "<script type=\"module\"" not in included(render_output("chart", "chart", SPEC))

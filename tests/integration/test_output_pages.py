"""Step outputs on the pages: drawn by their declared kind; table downloads safe for spreadsheets.

Reuses the page tests' factories: runs and steps are made with the ORM, the
summaries by the real executor, so what is stored is what a worker stores.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from pipelines.blocks.base import Block, Port
from pipelines.execution.executor import StepExecutor
from pipelines.models import ModelVersion, RegisteredModel
from tests.integration import test_pages as pages
from tests.integration.test_pages import METRICS, login, make_run, make_step

# The page tests' fixtures, shared rather than copied.
owner, pipeline, version, store = pages.owner, pages.pipeline, pages.version, pages.store

pytestmark = pytest.mark.django_db


def _stub(outputs: tuple[Port, ...], values: dict) -> Block:
    return Block(
        key="stub.outputs", label="Outputs", category="Other estimators", description="",
        inputs=(), outputs=outputs, params_schema={"type": "object", "properties": {}, "required": []},
        run=lambda ctx, inputs, params: values,
    )


def test_run_detail_draws_each_output_the_executor_stored_by_its_kind(client, owner, pipeline, version, store):
    block = _stub(
        (Port("rows", "table"), Port("steps", "estimator"), Port("notes", "report")),
        {
            "rows": pd.DataFrame({"petal_width": [0.2, 1.3]}),
            "steps": [("scale", StandardScaler())],
            "notes": {"drifted_share": 0.25, "features": ["a"]},
        },
    )
    outcome = StepExecutor(store).execute(block, {}, {})
    run = make_run(pipeline, version)
    make_step(run, "stub", "stub.outputs", summary=outcome.summary,
              outputs={p: s.as_ref() for p, s in outcome.outputs.items()})

    html = login(client, owner).get(f"/runs/{run.pk}/").content.decode()

    assert "petal_width" in html and "2 rows × 1 columns" in html  # table
    assert '<span class="chip">StandardScaler</span>' in html  # object
    assert "drifted_share" in html and "&quot;features&quot;" in html  # a report with no renderer of its own: JSON


def test_table_download_escapes_formula_cells_and_keeps_numbers(client, owner, pipeline, version, store):
    attacks = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tx", "\rx", "fine"]
    frame = pd.DataFrame({"name": attacks, "delta": [-1.5, -2, 3, 4, 5, 6, 7]})
    stored = store.put_table(frame)
    run = make_run(pipeline, version)
    make_step(run, "split", "data.split", outputs={"train": stored.as_ref()})

    response = login(client, owner).get(f"/runs/{run.pk}/steps/split/outputs/train/")

    rows = list(csv.reader(io.StringIO(response.content.decode(), newline="")))
    assert rows[0] == ["name", "delta"]
    assert [r[0] for r in rows[1:]] == ["'" + a for a in attacks[:-1]] + ["fine"]
    assert [r[1] for r in rows[1:]] == ["-1.5", "-2.0", "3.0", "4.0", "5.0", "6.0", "7.0"]


def test_model_page_shows_each_scoring_steps_metrics_with_the_run_pages_renderer(client, owner, pipeline, version):
    run = make_run(pipeline, version)
    registered = RegisteredModel.objects.create(workspace=pipeline.workspace, name="iris", created_by=owner)
    model = ModelVersion.objects.create(
        registered_model=registered, number=1, artifact_sha256="a" * 64, task="classification",
        signature={"inputs": [], "example": {}}, metrics={"evaluate": METRICS}, run=run, node_id="train",
    )

    html = login(client, owner).get(f"/models/{model.pk}/").content.decode()

    assert 'class="cm"' in html and "Confusion matrix" in html
    assert '<tr class="headline-row"><th>accuracy</th>' in html

"""Each stored step output declares how it is shown (its kind), decided from the block's port."""

from __future__ import annotations

import pandas as pd
from sklearn.preprocessing import StandardScaler

from pipelines.blocks.base import Block, Port
from pipelines.execution.artifacts import ArtifactStore
from pipelines.execution.executor import StepExecutor
from pipelines.execution.summaries import output_kind, step_outputs, stored_kind

REPORT = {"scoring": "accuracy", "results": [], "best_score": 0.9}


def _block(run) -> Block:
    return Block(
        key="stub.everything",
        label="Everything",
        category="Other estimators",
        description="one output of each port type",
        inputs=(),
        outputs=(
            Port("table", "table"),
            Port("estimator", "estimator"),
            Port("metrics", "metrics"),
            Port("plain", "report"),
            Port("search", "report", kind="tuning"),
        ),
        params_schema={"type": "object", "properties": {}, "required": []},
        run=run,
    )


def _outputs(ctx, inputs, params):
    return {
        "table": pd.DataFrame({"a": [1, 2]}),
        "estimator": [("scale", StandardScaler())],
        # A report that itself has a "kind" field must not decide how it is shown.
        "metrics": {"accuracy": 0.9, "kind": "confusing"},
        "plain": {"note": "hello", "kind": "table"},
        "search": REPORT,
    }


def test_the_executor_stores_the_kind_each_output_port_declares_or_its_type_implies(tmp_path):
    outcome = StepExecutor(ArtifactStore(tmp_path, "k" * 32)).execute(_block(_outputs), {}, {})

    assert outcome.ok, outcome.error
    kinds = {port: entry["kind"] for port, entry in outcome.summary["outputs"].items()}
    assert kinds == {
        "table": "table",
        "estimator": "object",
        "metrics": "metrics",
        "plain": "report",
        "search": "tuning",
    }
    assert outcome.summary["outputs"]["search"]["type"] == "report"
    assert outcome.summary["outputs"]["table"]["rows"] == 2


def test_a_summary_stored_before_kinds_existed_gets_the_kind_of_its_port_type():
    old = {"type": "table", "rows": 1, "columns": [], "preview": []}

    assert stored_kind(old) == "table"
    assert stored_kind({"type": "model", "steps": []}) == "object"
    assert stored_kind({"type": "something new"}) == "json"
    assert output_kind("report") == "report" and output_kind("report", "tuning") == "tuning"


def test_step_outputs_lists_ports_in_order_with_their_kinds_and_metrics_from_the_metrics_copy():
    summary = {
        "metrics": {"accuracy": 0.9},
        "outputs": {
            "table": {"type": "table", "rows": 3},
            "metrics": {"type": "metrics", "kind": "metrics", "accuracy": 0.9},
        },
    }

    outputs = step_outputs(summary)

    assert [(o.port, o.kind, o.type) for o in outputs] == [
        ("table", "table", "table"),
        ("metrics", "metrics", "metrics"),
    ]
    assert outputs[0].values == {"rows": 3}
    assert outputs[1].values == {"accuracy": 0.9}


def test_an_old_summary_with_only_metrics_still_shows_them():
    outputs = step_outputs({"metrics": {"r2": 0.5}})

    assert [(o.port, o.kind, o.values) for o in outputs] == [("metrics", "metrics", {"r2": 0.5})]
    assert step_outputs(None) == [] and step_outputs({"outputs": "garbage"}) == []

"""The viz.* blocks: a table or model in, one stored ``chart`` out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline

from pipelines.blocks import BlockError, catalogue
from pipelines.execution.artifacts import JSON, ArtifactStore
from pipelines.execution.executor import StepExecutor


class Ctx:
    def load_table(self, sha256):
        raise AssertionError("no uploads here")

    def log(self, message):
        pass


def chart(key: str, inputs: dict, **params) -> dict:
    block = catalogue().get(key)
    return block.run(Ctx(), inputs, {**block.defaults(), **params})["chart"]


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    return pd.DataFrame({"x": x, "z": rng.normal(size=400), "kind": rng.choice(["a", "b"], 400), "target": x * 3 + 1})


def test_every_viz_block_is_in_the_catalogue_with_a_chart_output():
    keys = ["viz.histogram", "viz.scatter", "viz.correlation", "viz.profile", "viz.roc", "viz.residuals"]
    for key in keys:
        block = catalogue().get(key)
        assert block is not None, key
        assert [(p.name, p.type) for p in block.outputs] == [("chart", "chart")]
        assert block.category == "Charts"


def test_the_executor_stores_a_chart_as_json_of_kind_chart(tmp_path, table):
    store = ArtifactStore(tmp_path, "k" * 32)
    table_ref = store.put_table(table)
    outcome = StepExecutor(store).execute(
        catalogue().get("viz.histogram"),
        {"column": "x", "bins": 8},
        {"table": table_ref.as_ref()},
    )
    assert outcome.ok, outcome.error
    stored = outcome.outputs["chart"]
    assert stored.kind == JSON
    assert store.load(stored.sha256, JSON)["mark"]["type"] == "bar"
    entry = outcome.summary["outputs"]["chart"]
    assert (entry["type"], entry["kind"]) == ("chart", "chart")
    assert len(entry["data"]["values"]) == 8


def test_table_charts_name_a_missing_column_and_the_param(table):
    with pytest.raises(BlockError) as info:
        chart("viz.scatter", {"table": table}, x="x", y="nope")
    assert info.value.param == "y"
    assert "'nope'" in info.value.message


def test_a_table_chart_whose_column_is_not_chosen_yet_asks_for_it(table):
    with pytest.raises(BlockError) as info:
        chart("viz.histogram", {"table": table})
    assert (info.value.param, info.value.message) == ("column", "choose the column to chart")


def test_scatter_correlation_and_profile_draw_their_table(table):
    scatter = chart("viz.scatter", {"table": table}, x="x", y="z", color="kind", max_points=50)
    assert len(scatter["data"]["values"]) == 50
    heat = chart("viz.correlation", {"table": table}, method="spearman")
    assert {c["x"] for c in heat["data"]["values"]} == {"x", "z", "target"}
    assert len(chart("viz.profile", {"table": table})["concat"]) == 4


def test_a_correlation_of_fewer_than_two_numeric_columns_is_refused(table):
    with pytest.raises(BlockError, match="two numeric columns"):
        chart("viz.correlation", {"table": table[["x", "kind"]]})


def test_roc_and_residuals_take_a_model_and_labelled_rows(table):
    features = table[["x", "z"]]
    classifier = Pipeline([("lr", LogisticRegression())]).fit(features, table["kind"])
    labelled = features.assign(target=table["kind"])
    roc = chart("viz.roc", {"model": classifier, "table": labelled})
    assert roc["data"]["values"][-1]["tpr"] == 1.0
    regressor = Pipeline([("lr", LinearRegression())]).fit(features, table["target"])
    residuals = chart("viz.residuals", {"model": regressor, "table": table}, max_points=100)
    assert len(residuals["data"]["values"]) == 100
    assert max(abs(r["residual"]) for r in residuals["data"]["values"]) < 1e-6


def test_roc_of_a_regressor_says_it_needs_a_classifier(table):
    regressor = Pipeline([("lr", LinearRegression())]).fit(table[["x"]], table["target"])
    with pytest.raises(BlockError, match="not a classifier"):
        chart("viz.roc", {"model": regressor, "table": table})


def test_roc_of_three_classes_draws_a_curve_per_class(table):
    labels = np.array(["a", "b", "c"])[np.digitize(table["x"], [-0.5, 0.5])]
    model = Pipeline([("lr", LogisticRegression())]).fit(table[["x"]], labels)
    spec = chart("viz.roc", {"model": model, "table": table[["x"]].assign(target=labels)})
    assert len({p["class"] for p in spec["data"]["values"]}) == 3

"""The prep.* blocks: estimator steps that are fitted inside the trained Pipeline."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest

from pipelines.blocks import BlockError, catalogue
from pipelines.blocks.training import evaluate, predict
from pipelines.demo_data import churn_table


class FakeContext:
    node_id = "prep1"

    def __init__(self):
        self.lines: list[str] = []

    def load_table(self, sha256):
        raise AssertionError("no uploads here")

    def log(self, message):
        self.lines.append(message)


def run(key, inputs=None, ctx=None, **params):
    block = catalogue().get(key)
    return block.run(ctx or FakeContext(), inputs or {}, {**block.defaults(), **params})


def chain(*specs):
    """specs: (key, params) in order → the estimator steps."""
    steps = None
    for key, params in specs:
        steps = run(key, {} if steps is None else {"estimator": steps}, **params)["estimator"]
    return steps


def train(steps, table, ctx=None, **params):
    return run("model.train", {"estimator": steps, "table": table}, ctx=ctx, **{"target": "churned", **params})["model"]


@pytest.fixture(scope="module")
def churn():
    table = churn_table(rows=600)
    return table.iloc[:450].reset_index(drop=True), table.iloc[450:].reset_index(drop=True)


BOOST = ("sklearn.ensemble.HistGradientBoostingClassifier", {"max_iter": 30})


def test_prep_auto_trains_on_a_mixed_table_and_drops_the_id_column_from_the_features(churn):
    ctx = FakeContext()
    model = train(chain(("prep.auto", {}), BOOST), churn[0], ctx=ctx)

    assert model.feature_columns_ == ["age", "tenure_months", "monthly_charges", "total_charges", "support_calls", "city", "plan"]
    assert model.target_ == "churned"
    assert any("city: text: one-hot" in line for line in ctx.lines)
    assert any("not used" in line and "customer_id" in line for line in ctx.lines)
    assert evaluate(model, churn[1])["accuracy"] > 0.6


def test_prep_auto_predicts_rows_with_blanks_and_unseen_categories(churn):
    model = train(chain(("prep.auto", {}), BOOST), churn[0])
    rows = churn[1].head(3).copy()
    rows["city"] = rows["city"].astype(object)
    rows.loc[0, "city"] = "Grenoble"
    rows.loc[1, ["age", "city", "plan"]] = np.nan

    assert len(predict(model, rows)["prediction"]) == 3


def test_prep_auto_target_encodes_many_valued_text_and_splits_dates_into_parts():
    rng = np.random.default_rng(0)
    n = 300
    table = pd.DataFrame(
        {
            "street": rng.choice([f"street {i}" for i in range(80)], size=n),
            "signup": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "x": rng.normal(size=n),
            "churned": rng.integers(0, 2, size=n),
        }
    )
    model = train(chain(("prep.auto", {"max_categories": 10}), BOOST), table)

    plan = {entry["column"]: entry["plan"] for entry in model[0].plan_}
    assert plan["street"].startswith("text with many values")
    assert plan["signup"].startswith("date")


def test_prep_columns_sends_each_group_through_its_own_steps_and_drops_the_rest(churn):
    onehot = chain(("sklearn.impute.SimpleImputer", {"strategy": "most_frequent"}), ("sklearn.preprocessing.OneHotEncoder", {"handle_unknown": "ignore"}))
    scale = chain(("sklearn.impute.SimpleImputer", {}), ("sklearn.preprocessing.StandardScaler", {}))
    steps = run(
        "prep.columns",
        {"group_1": onehot, "group_2": scale},
        group_1_columns=["city", "plan"],
        group_2_dtype="number",
        drop=["customer_id"],
    )["estimator"]
    steps = run("sklearn.linear_model.LogisticRegression", {"estimator": steps}, max_iter=500)["estimator"]
    model = train(steps, churn[0])

    assert "customer_id" not in model.feature_columns_
    names = list(model[0].get_feature_names_out())
    assert any(n.startswith("group_1__city_") for n in names)
    assert "group_2__age" in names and not any("customer_id" in n for n in names)


def test_prep_columns_with_an_unknown_column_fails_training_naming_the_node_and_the_column(churn):
    steps = chain(("prep.columns", {"group_1_columns": ["cty"]}), BOOST)

    with pytest.raises(BlockError) as info:
        train(steps, churn[0])
    assert "node 'prep1'" in info.value.message and "'cty'" in info.value.message


def test_prep_columns_refuses_a_group_with_steps_but_no_columns_and_a_bad_pattern():
    scale = chain(("sklearn.preprocessing.StandardScaler", {}))
    with pytest.raises(BlockError) as info:
        run("prep.columns", {"group_1": scale})
    assert info.value.param == "group_1_columns"
    with pytest.raises(BlockError) as info:
        run("prep.columns", group_1_pattern="(")
    assert info.value.param == "group_1_pattern"


def test_prep_columns_refuses_a_model_in_a_group():
    model = chain(("sklearn.linear_model.LogisticRegression", {}))
    with pytest.raises(BlockError, match="not a preprocessing step"):
        run("prep.columns", {"group_1": model}, group_1_dtype="number")


def test_prep_missing_fills_per_column_and_adds_indicators(churn):
    steps = chain(("prep.missing", {"strategy": "median", "per_column": {"city": "constant"}, "fill_value": "unknown"}))
    fitted = train([*steps, ("m", _passthrough_model())], churn[0])
    out = fitted[0].transform(churn[1])

    assert out["age"].notna().all() and out["city"].notna().all()
    assert set(out.loc[churn[1]["city"].isna(), "city"]) == {"unknown"}
    assert "age_missing" in out.columns


def test_prep_missing_refuses_an_unknown_strategy_and_an_unknown_column(churn):
    with pytest.raises(BlockError) as info:
        run("prep.missing", per_column={"age": "guess"})
    assert info.value.param == "per_column"
    steps = chain(("prep.missing", {"per_column": {"agee": "mean"}}), ("prep.auto", {}), BOOST)
    with pytest.raises(BlockError, match="'agee'"):
        train(steps, churn[0])


def test_prep_dates_replaces_date_columns_with_their_parts():
    table = pd.DataFrame({"when": ["03/01/2024", "15/02/2024", None, "31/12/2023"] * 10, "churned": [0, 1] * 20})
    steps = chain(("prep.dates", {"columns": ["when"], "format": "%d/%m/%Y", "parts": ["year", "month"]}), ("prep.missing", {}))
    model = train([*steps, ("m", _passthrough_model())], table)
    out = model[:-1].transform(table.drop(columns=["churned"]))

    assert list(out.columns[:2]) == ["when_year", "when_month"]
    assert out["when_month"].iloc[1] == 2


def test_prep_dates_refuses_an_unknown_part():
    with pytest.raises(BlockError) as info:
        run("prep.dates", parts=["century"])
    assert info.value.param == "parts"


def test_prep_text_turns_a_text_column_into_tfidf_columns():
    table = pd.DataFrame({"note": ["late payment again", "happy customer", None, "payment failed"] * 10, "x": range(40), "churned": [1, 0, 0, 1] * 10})
    model = train(chain(("prep.text", {"column": "note"}), ("sklearn.linear_model.LogisticRegression", {})), table)

    names = list(model[0].get_feature_names_out())
    assert "note_payment" in names and "x" in names
    assert evaluate(model, table)["accuracy"] == 1.0


def test_prep_text_needs_a_column_that_exists():
    with pytest.raises(BlockError):
        run("prep.text")
    table = pd.DataFrame({"x": range(10), "churned": [0, 1] * 5})
    with pytest.raises(BlockError, match="'nope'"):
        train(chain(("prep.text", {"column": "nope"}), ("sklearn.linear_model.LogisticRegression", {})), table)


def test_prep_types_parses_decimal_commas_and_dates_with_a_format():
    table = pd.DataFrame({"price": ["1.234,5", "2,25", "", "x"] * 5, "day": ["01.02.2024"] * 20, "churned": [0, 1] * 10})
    steps = chain(("prep.types", {"decimal_comma": ["price"], "dates": ["day"], "date_format": "%d.%m.%Y"}))
    model = train([*steps, ("m", _passthrough_model())], table)
    out = model[0].transform(table.drop(columns=["churned"]))

    assert out["price"].tolist()[:4] == [1234.5, 2.25, pytest.approx(np.nan, nan_ok=True), pytest.approx(np.nan, nan_ok=True)]
    assert out["day"].iloc[0] == pd.Timestamp("2024-02-01")


def test_prep_types_needs_a_column_to_parse():
    with pytest.raises(BlockError):
        run("prep.types")


def test_a_trained_prep_pipeline_survives_a_joblib_round_trip(churn, tmp_path):
    model = train(chain(("prep.auto", {}), BOOST), churn[0])
    joblib.dump(model, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")

    assert (predict(loaded, churn[1])["prediction"] == predict(model, churn[1])["prediction"]).all()


def test_model_train_excludes_columns_and_model_evaluate_reads_the_target_from_the_model(churn):
    model = train(chain(("prep.auto", {}), BOOST), churn[0], exclude=["city", "customer_id"])

    assert "city" not in model.feature_columns_
    assert run("model.evaluate", {"model": model, "table": churn[1]})["metrics"]["n_samples"] == len(churn[1])


def test_model_train_refuses_features_that_are_not_columns(churn):
    with pytest.raises(BlockError) as info:
        train(chain(("prep.auto", {}), BOOST), churn[0], features=["age", "income"])
    assert info.value.param == "features" and "'income'" in info.value.message


def _passthrough_model():
    from sklearn.dummy import DummyClassifier

    return DummyClassifier()


def test_the_churn_demo_csv_is_the_same_bytes_every_time_with_about_five_percent_blanks():
    from pipelines.demo_data import churn_csv

    assert churn_csv() == churn_csv()
    table = churn_table()
    assert len(table) == 2000 and table["customer_id"].is_unique
    assert 0.03 < table[["age", "city", "plan"]].isna().mean().mean() < 0.07


def test_the_model_output_summary_shows_the_plan_chosen_for_each_column(churn):
    from pipelines.execution.summaries import model_summary

    plan = model_summary(train(chain(("prep.auto", {}), BOOST), churn[0]))["plan"]

    assert plan[0] == "not used (not asked for at the endpoint): customer_id"
    assert "auto · city: text: one-hot (unknown categories ignored)" in plan
    assert "auto · age: number: median imputation + missing indicator" in plan


def test_prep_auto_vectorises_free_text_but_drops_codes_that_are_distinct_on_every_row():
    n = 60
    table = pd.DataFrame(
        {
            "note": [f"customer called about invoice {i}" for i in range(n)],
            "ticket": [f"T-{i:04d}" for i in range(n)],
            "x": np.arange(n, dtype=float),
            "churned": [0, 1] * (n // 2),
        }
    )
    model = train(chain(("prep.auto", {}), BOOST), table)

    assert model.feature_columns_ == ["note", "x"]
    plan = {entry["column"]: entry["plan"] for entry in model[0].plan_}
    assert plan["note"].startswith("free text")

"""Issue 8's acceptance path, all of it in real Chromium: upload the churn CSV on
the datasets page, build prep.columns → logistic regression → train → evaluate on
an empty canvas, run it, check the accuracy against scikit-learn computed here,
register & deploy from the run page and predict with a blank field."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from playwright.sync_api import expect
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pipelines.demo_data import churn_csv
from pipelines.models import Deployment, Pipeline, PredictionLog
from pipelines.serving.logbuffer import prediction_log_writer_stop

from .conftest import screenshot
from .test_editor import add_block, connect, select_node

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TEXT = ["city", "plan"]
NUMBERS = ["age", "tenure_months", "monthly_charges", "total_charges", "support_calls"]
TARGET = "churned"


@pytest.fixture
def page(login, owner):
    """The owner's logged-in page; afterwards the prediction-log writer thread is
    stopped, so that its database connection does not outlive the test database."""
    yield login(owner)
    prediction_log_writer_stop()


def reference_accuracy(csv_path) -> float:
    """The same pipeline written by hand with scikit-learn, independent of the
    product's code, on the split data.split makes with its defaults (test_size
    0.25, seed 0 as random_state) stratified on the target."""
    table = pd.read_csv(csv_path)
    train, test = train_test_split(table, test_size=0.25, random_state=0, stratify=table[TARGET])
    features = ColumnTransformer(
        [
            ("text", OneHotEncoder(handle_unknown="ignore", sparse_output=False), TEXT),
            (
                "numbers",
                SkPipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]),
                NUMBERS,
            ),
        ],
        remainder="drop",  # customer_id
    )
    model = SkPipeline([("features", features), ("classifier", LogisticRegression())])
    model.fit(train.drop(columns=[TARGET]), train[TARGET])
    return accuracy_score(test[TARGET], model.predict(test.drop(columns=[TARGET])))


def check_columns(page, param: str, names: list[str]) -> None:
    """Tick columns in a column-list param of the selected node (checkbox pickers)."""
    field = page.get_by_test_id(f"field-{param}")
    for name in names:
        field.locator("label", has=page.locator("input[type=checkbox]")).filter(
            has_text=re.compile(rf"^\s*{re.escape(name)}\s·")
        ).locator("input").check()


def test_churn_is_uploaded_built_run_deployed_and_predicted_from_the_ui(
    celery_worker_process, page, live_server, tmp_path
):
    csv_path = tmp_path / "churn.csv"
    csv_path.write_bytes(churn_csv())
    page.set_viewport_size({"width": 1600, "height": 1000})

    # 1. Upload the CSV on the datasets page.
    page.goto(f"{live_server.url}/datasets/")
    page.locator("input[type=file][name=file]").set_input_files(str(csv_path))
    page.locator("input[name=name]").fill("churn")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/datasets/\d+/$"))
    expect(page.locator(".page-head")).to_contain_text("2,000 rows × 9 columns")
    screenshot(page, "churn-1-uploaded")

    # 2. A new empty pipeline, opened in the editor.
    page.goto(f"{live_server.url}/pipelines/new/")
    page.locator("#new-name").fill("Churn from the UI")
    page.get_by_role("button", name="Create and open the editor").click()
    expect(page.get_by_test_id("empty-state")).to_be_visible()

    # 3. Blocks (dropped centred on the point), laid out in three rows, then wired port to port.
    add_block(page, "uploaded dataset", "dataset.upload", 130, 40)
    add_block(page, "split", "data.split", 390, 40)
    add_block(page, "train model", "model.train", 650, 40)
    add_block(page, "evaluate", "model.evaluate", 910, 40)
    add_block(page, "simple imputer", "sklearn.impute.SimpleImputer", 130, 300)
    add_block(page, "standard scaler", "sklearn.preprocessing.StandardScaler", 390, 300)
    add_block(page, "one-hot", "sklearn.preprocessing.OneHotEncoder", 390, 560)
    add_block(page, "column groups", "prep.columns", 650, 300)
    add_block(page, "logistic", "sklearn.linear_model.LogisticRegression", 910, 300)
    expect(page.locator(".react-flow__node")).to_have_count(9)
    screenshot(page, "churn-2-blocks")

    connect(page, "upload", "table", "split", "table")
    connect(page, "simpleimputer", "estimator", "standardscaler", "estimator")
    connect(page, "standardscaler", "estimator", "columns", "group_2")
    connect(page, "onehotencoder", "estimator", "columns", "group_1")
    connect(page, "columns", "estimator", "logisticregression", "estimator")
    connect(page, "logisticregression", "estimator", "train", "estimator")
    connect(page, "split", "train", "train", "table")
    connect(page, "train", "model", "evaluate", "model")
    connect(page, "split", "test", "evaluate", "table")

    # 4. Parameters, in the inspector, from the uploaded dataset's columns.
    select_node(page, "upload")
    page.locator("#param-upload-dataset").select_option(label="churn · 1 version")
    select_node(page, "split")
    page.get_by_test_id("field-stratify_column").locator(".ed-none input").uncheck()
    page.locator("#param-split-stratify_column").select_option(TARGET)
    select_node(page, "train")
    page.locator("#param-train-target").select_option(TARGET)
    select_node(page, "onehotencoder")
    expect(page.locator("#param-onehotencoder-handle_unknown")).to_contain_text("ignore (default)")
    select_node(page, "columns")
    check_columns(page, "drop", ["customer_id"])
    check_columns(page, "group_1_columns", TEXT)
    page.locator("#param-columns-group_2_dtype").select_option("number")
    screenshot(page, "churn-3-columns-params")

    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("save-state")).to_have_text(re.compile(r"Saved · draft rev \d+"))
    pipeline = Pipeline.objects.get(name="Churn from the UI")
    nodes = {n["id"]: n["params"] for n in pipeline.graph["nodes"]}
    assert nodes["columns"] == {
        "drop": ["customer_id"],
        "group_1_columns": TEXT,
        "group_2_dtype": "number",
    }
    assert nodes["split"] == {"stratify_column": TARGET}
    assert nodes["train"] == {"target": TARGET}

    # 5. Run, wait for success, read the accuracy the canvas shows.
    page.get_by_test_id("run-button").click()
    expect(page.get_by_test_id("run-bar")).to_have_attribute(
        "data-status", "succeeded", timeout=90_000
    )
    headline = page.get_by_test_id("node-evaluate").get_by_test_id("node-headline")
    expect(headline).to_contain_text(re.compile(r"accuracy \d\.\d+"))
    ui_accuracy = float(re.search(r"accuracy (\d\.\d+)", headline.text_content()).group(1))
    select_node(page, "evaluate")
    page.get_by_test_id("outputs-tab").click()
    expect(page.get_by_test_id("metrics")).to_contain_text("accuracy")
    screenshot(page, "churn-4-run")

    reference = reference_accuracy(csv_path)
    assert abs(ui_accuracy - reference) <= 0.01, (ui_accuracy, reference)

    # 6. Register & deploy from the run page.
    run = pipeline.runs.get()
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    form = page.locator('.register-form[data-node="train"]')
    form.locator("input[name=name]").fill("churn-ui")
    screenshot(page, "churn-5-run-page")
    form.locator("button[value=deploy]").click()
    page.wait_for_url("**/deployments/churn-ui/")
    assert Deployment.objects.get(name="churn-ui").current_revision.model_version.run_id == run.pk

    # 7. Try it with a blank numeric field: a prediction, not an error.
    try_form = page.locator("#try-form")
    expect(try_form.locator("input[name=age]")).to_be_visible()
    try_form.locator("input[name=age]").fill("")
    with page.expect_response(re.compile(r"/api/deployments/churn-ui/predict$")) as answered:
        page.get_by_test_id("try-predict").click()
    response = answered.value
    assert response.status == 200
    sent = response.request.post_data_json["instances"][0]
    assert sent["age"] is None and sent["city"]  # the blank went out as null
    expect(page.locator("#try-status")).to_contain_text("HTTP 200")
    answer = json.loads(page.locator("#try-result pre").inner_text())
    assert answer["predictions"][0] in (0, 1)
    screenshot(page, "churn-6-predicted")
    assert page.errors == []
    prediction_log_writer_stop()  # writes the queued log row now
    logged = PredictionLog.objects.get()
    assert (logged.status, logged.inputs[0]["age"]) == (200, None)

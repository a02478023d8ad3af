"""``POST /api/deployments/{name}/predict?explain=true``: each row's top feature contributions.

Real signed models in the real artifact store, deployed through the API, called
through both the Django view and the ASGI fast path. Tree models: the
contributions are exact TreeSHAP (they sum, with the expected value, to the
model's probability); linear models: coef × (x − training mean).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.preprocessing import StandardScaler

from pipelines.models import Pipeline, PipelineVersion, Run, RunStatus, StepRun, StepStatus
from pipelines.services.artifacts import artifact_store, artifacts_record
from tests.integration.serving_factories import asgi_request, bearer
from tests.integration.world import personal

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("fresh_serving")]

FEATURES = ["income", "debt", "age", "noise"]


def _table(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(n, 4)), columns=FEATURES)
    table["income"] = table["income"] * 10 + 50
    table["target"] = ((table["income"] - 50) / 10 - table["debt"] + rng.normal(scale=0.3, size=n) > 0).astype(int)
    return table


def _deploy(owner, owner_api, name: str, estimator) -> tuple[str, object, pd.DataFrame]:
    table = _table()
    model = estimator.fit(table[FEATURES], table["target"])
    workspace = personal(owner)
    pipeline = Pipeline.objects.create(workspace=workspace, name=name, graph={"nodes": [], "edges": []},
                                       created_by=owner)
    version = PipelineVersion.objects.create(pipeline=pipeline, number=1, graph=pipeline.graph, graph_hash="h")
    run = Run.objects.create(workspace=workspace, pipeline=pipeline, pipeline_version=version,
                             status=RunStatus.SUCCEEDED, created_by=owner, steps_total=2, steps_done=2)
    store = artifact_store()
    table_ref, model_ref = store.put_table(table), store.put_object(model)
    artifacts_record([table_ref, model_ref])
    StepRun.objects.create(run=run, node_id="load", block_key="dataset.builtin", block_version="1", position=0,
                           status=StepStatus.SUCCEEDED, outputs={"table": table_ref.as_ref()})
    StepRun.objects.create(run=run, node_id="train", block_key="model.train", block_version="1", position=1,
                           status=StepStatus.SUCCEEDED, inputs={"table": ["load", "table"]},
                           params={"target": "target"}, outputs={"model": model_ref.as_ref()})
    registered = owner_api.post("/api/models/", {"name": name, "run": run.pk, "node": "train"}, format="json")
    assert registered.status_code == 201, registered.content
    deployed = owner_api.post("/api/deployments/", {"name": name, "model_version": registered.json()["id"]},
                              format="json")
    assert deployed.status_code == 201, deployed.content
    key = owner_api.post(f"/api/deployments/{name}/keys/", {"name": "t"}, format="json").json()["key"]
    return key, model, table


ROWS = [{"income": 71.0, "debt": -0.5, "age": 0.1, "noise": 2.0},
        {"income": 35.0, "debt": 1.2, "age": -1.0, "noise": -0.3}]


def test_tree_model_explanations_are_exact_tree_shap_on_both_paths(owner, owner_api):
    key, model, _ = _deploy(owner, owner_api, "rf", RandomForestClassifier(n_estimators=30, random_state=0))
    body = json.dumps({"instances": ROWS})
    plain = bearer(key).post("/api/deployments/rf/predict", body, content_type="application/json").json()
    assert "explanations" not in plain
    answer = bearer(key).post("/api/deployments/rf/predict?explain=true", body, content_type="application/json")
    assert answer.status_code == 200, answer.content
    out = answer.json()
    assert out["predictions"] == plain["predictions"]
    explanations = out["explanations"]
    assert len(explanations) == 2
    expected = shap.TreeExplainer(model).expected_value
    for predicted, proba, contributions in zip(out["predictions"], out["probabilities"],
                                               explanations, strict=True):
        assert {c["feature"] for c in contributions} == set(FEATURES)
        magnitudes = [abs(c["contribution"]) for c in contributions]
        assert magnitudes == sorted(magnitudes, reverse=True)
        k = list(model.classes_).index(predicted)
        # Additivity: the contributions plus the expected value are the model's probability of the class.
        assert sum(c["contribution"] for c in contributions) + expected[k] == pytest.approx(proba[k], abs=1e-6)
    assert explanations[0][0]["feature"] in ("income", "debt")  # the planted signal, not the noise

    status, fast, _ = asgi_request("POST", "/api/deployments/rf/predict?explain=1",
                                   headers={"Authorization": f"Bearer {key}"}, body=body.encode())
    assert status == 200 and fast["explanations"] == explanations


def test_linear_model_contributions_are_coef_times_distance_from_the_training_mean(owner, owner_api):
    estimator = SkPipeline([("scale", StandardScaler()), ("lr", LogisticRegression())])
    key, model, table = _deploy(owner, owner_api, "lin", estimator)
    status, out, _ = asgi_request("POST", "/api/deployments/lin/predict?explain=true",
                                  headers={"Authorization": f"Bearer {key}"},
                                  body=json.dumps({"instances": ROWS}).encode())
    assert status == 200, out
    scaled = model[:-1].transform(pd.DataFrame(ROWS))
    mean = model[:-1].transform(table[FEATURES].sample(n=len(table), random_state=0)).mean(axis=0)
    coef = model[-1].coef_[0]
    for i, (predicted, contributions) in enumerate(zip(out["predictions"], out["explanations"], strict=True)):
        sign = 1 if predicted == 1 else -1
        want = {f: sign * coef[j] * (scaled[i, j] - mean[j]) for j, f in enumerate(FEATURES)}
        assert {c["feature"]: c["contribution"] for c in contributions} == pytest.approx(want)
        # The features pushing toward the predicted class outweigh those against it.
        assert sum(c["contribution"] for c in contributions) > 0


def test_bad_explain_values_and_unexplainable_models_are_refused_naming_explain(owner, owner_api):
    key, _, _ = _deploy(owner, owner_api, "knn", KNeighborsClassifier(n_neighbors=3))
    body = json.dumps({"instances": ROWS[:1]})
    bad = bearer(key).post("/api/deployments/knn/predict?explain=maybe", body, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["field"] == "explain"
    status, out, _ = asgi_request("POST", "/api/deployments/knn/predict?explain=maybe",
                                  headers={"Authorization": f"Bearer {key}"}, body=body.encode())
    assert status == 400 and out["field"] == "explain"
    refused = bearer(key).post("/api/deployments/knn/predict?explain=true", body, content_type="application/json")
    assert refused.status_code == 422 and refused.json()["field"] == "explain"
    assert "KNeighborsClassifier" in refused.json()["detail"]
    status, out, _ = asgi_request("POST", "/api/deployments/knn/predict?explain=true",
                                  headers={"Authorization": f"Bearer {key}"}, body=body.encode())
    assert status == 422 and out["field"] == "explain"
    plain = bearer(key).post("/api/deployments/knn/predict", body, content_type="application/json")
    assert plain.status_code == 200  # explaining is opt-in: plain predictions still work

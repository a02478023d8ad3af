"""Train → register → deploy → predict, on PostgreSQL, Redis and a real Celery worker."""

from __future__ import annotations

import json

import pytest
import sklearn
from rest_framework.test import APIClient

from pipelines.demo import DEMO_PIPELINES
from pipelines.models import Membership, PredictionLog, Role, Workspace
from pipelines.serving.logbuffer import prediction_logs_flush
from tests.conftest import api_client_for, run_async, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("fresh_serving")]


def _train(client, graph=None) -> dict:
    graph = graph or DEMO_PIPELINES[0]["graph"]()
    pipeline = client.post("/api/pipelines/", {"name": "bc", "graph": graph}, format="json").json()
    run_id = client.post(f"/api/pipelines/{pipeline['id']}/runs/", {}, format="json").json()["id"]
    run = wait_for_run(client, run_id)
    assert run["status"] == "succeeded", run["error"]
    return run


def _register(client, run, name="bc", node="train") -> dict:
    response = client.post("/api/models/", {"name": name, "run": run["id"], "node": node}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _deploy(client, version_id, name="bc-prod", status=201):
    """Deploy ``version_id`` as ``name``: 201 for a new deployment, 200 for a new revision of one."""
    response = client.post("/api/deployments/", {"name": name, "model_version": version_id}, format="json")
    assert response.status_code == status, response.content
    return response.json()


def _key(client, name="bc-prod") -> str:
    response = client.post(f"/api/deployments/{name}/keys/", {"name": "ci"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["key"]


@pytest.fixture
def deployed(owner_api, celery_worker_process):
    run = _train(owner_api)
    version = _register(owner_api, run)
    deployment = _deploy(owner_api, version["id"])
    key = _key(owner_api)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return {"run": run, "version": version, "deployment": deployment, "key": key, "client": client}


def _post(client, url, body):
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.generic("POST", url, raw, content_type="application/json")


PREDICT = "/api/deployments/bc-prod/predict"


# --- registry -----------------------------------------------------------------------


def test_registering_a_trained_step_records_signature_task_metrics_and_lineage(deployed, owner_api):
    version, run = deployed["version"], deployed["run"]

    assert version["name"] == "bc" and version["version"] == 1
    assert version["task"] == "classification" and version["classes"] == [0, 1]
    columns = [c["name"] for c in version["signature"]["inputs"]]
    assert len(columns) == 30 and "mean radius" in columns and "target" not in columns
    assert {c["dtype"] for c in version["signature"]["inputs"]} == {"float64"}
    assert set(version["signature"]["example"]) == set(columns)
    assert version["metrics"]["evaluate"]["accuracy"] >= 0.95
    train = next(s for s in run["steps"] if s["node_id"] == "train")
    assert version["lineage"]["run"] == run["id"]
    assert version["lineage"]["step"] == train["id"]
    assert version["lineage"]["pipeline_version"] == run["pipeline_version"]
    assert version["lineage"]["pipeline"] == run["pipeline"]
    assert len(version["lineage"]["training_data_sha256"]) == 64
    assert version["library_versions"]["scikit-learn"] == sklearn.__version__
    assert "LogisticRegression" in version["model_card"]["description"]

    again = _register(owner_api, run)
    assert again["version"] == 2
    listed = owner_api.get("/api/models/?name=bc").json()["results"]
    assert [v["version"] for v in listed] == [2, 1]
    assert owner_api.get(f"/api/models/{version['id']}/").json()["deployments"] == ["bc-prod"]


def test_registering_a_node_that_did_not_train_a_model_is_refused_naming_the_node(
    deployed, owner_api, outsider_api
):
    run = deployed["run"]

    evaluate = owner_api.post("/api/models/", {"name": "x", "run": run["id"], "node": "evaluate"}, format="json")
    missing = owner_api.post("/api/models/", {"name": "x", "run": run["id"], "node": "nope"}, format="json")
    bad_run = owner_api.post("/api/models/", {"name": "x", "run": "abc", "node": "train"}, format="json")
    bad_name = owner_api.post("/api/models/", {"name": "a b/c", "run": run["id"], "node": "train"}, format="json")
    outsider = outsider_api.post("/api/models/", {"name": "x", "run": run["id"], "node": "train"}, format="json")

    assert evaluate.status_code == 400 and evaluate.json()["field"] == "node"
    assert "model.evaluate" in evaluate.json()["detail"]
    assert missing.status_code == 400 and missing.json()["field"] == "node"
    assert "train" in missing.json()["detail"]
    assert bad_run.status_code == 400 and "run" in bad_run.json()["fields"]
    assert bad_name.status_code == 400 and bad_name.json()["field"] == "name"
    assert outsider.status_code == 404
    assert outsider_api.get(f"/api/models/{deployed['version']['id']}/").status_code == 404
    assert outsider_api.get("/api/models/").json()["results"] == []


# --- predict: payload formats ------------------------------------------------------------


def _rows(version, n=3):
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    columns = [c["name"] for c in version["signature"]["inputs"]]
    return frame[columns].head(n), frame["target"].head(n).tolist()


def test_predict_accepts_records_rows_and_every_mlflow_scoring_body(deployed):
    client, version = deployed["client"], deployed["version"]
    frame, truth = _rows(version)
    records = frame.to_dict(orient="records")
    rows = frame.values.tolist()
    bodies = {
        "instances records": {"instances": records},
        "instances rows": {"instances": rows},
        "dataframe_split": {"dataframe_split": {"columns": list(frame.columns), "data": rows}},
        "dataframe_split with index": {
            "dataframe_split": {"index": [0, 1, 2], "columns": list(frame.columns), "data": rows}
        },
        "dataframe_records": {"dataframe_records": records},
        "inputs columnar": {"inputs": {c: frame[c].tolist() for c in frame.columns}},
        "inputs records": {"inputs": records},
        "inputs rows": {"inputs": rows, "params": {}},
    }

    answers = {}
    for label, body in bodies.items():
        response = _post(client, PREDICT, body)
        assert response.status_code == 200, (label, response.content)
        answers[label] = response.json()

    first = answers["instances records"]
    assert first["predictions"] == truth
    assert first["classes"] == [0, 1]
    assert len(first["probabilities"]) == 3
    assert all(abs(sum(p) - 1) < 1e-9 for p in first["probabilities"])
    assert first["model"] == "bc" and first["model_version"] == 1 and first["revision"] == 1
    assert first["deployment"] == "bc-prod" and len(first["request_id"]) == 32
    for label, answer in answers.items():
        assert answer["predictions"] == first["predictions"], label
        flat = [p for row in answer["probabilities"] for p in row]
        assert flat == pytest.approx([p for row in first["probabilities"] for p in row]), label
    assert len({a["request_id"] for a in answers.values()}) == len(answers)


def test_predict_takes_a_trailing_slash_a_member_token_and_needs_no_csrf(deployed, owner):
    frame, _ = _rows(deployed["version"], 1)
    csrf_client = APIClient(enforce_csrf_checks=True)
    csrf_client.credentials(HTTP_AUTHORIZATION=f"Bearer {deployed['key']}")
    token_client = api_client_for(owner)

    with_slash = _post(csrf_client, PREDICT + "/", {"instances": frame.values.tolist()})
    by_token = _post(token_client, PREDICT, {"instances": frame.values.tolist()})

    assert with_slash.status_code == 200, with_slash.content
    assert by_token.status_code == 200, by_token.content
    assert by_token["X-Request-ID"] == by_token.json()["request_id"]


# --- V2 with tritonclient ----------------------------------------------------------------


def test_tritonclient_speaks_open_inference_protocol_to_the_v2_routes(deployed, live_server):
    import numpy as np
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException

    frame, truth = _rows(deployed["version"], 4)
    headers = {"Authorization": f"Bearer {deployed['key']}"}
    client = httpclient.InferenceServerClient(url=live_server.url.replace("http://", ""))

    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("bc-prod", headers=headers)
    metadata = client.get_model_metadata("bc-prod", headers=headers)
    assert metadata["name"] == "bc-prod" and metadata["versions"] == ["1"]
    assert [i["name"] for i in metadata["inputs"]] == list(frame.columns)
    assert {i["datatype"] for i in metadata["inputs"]} == {"FP64"}
    assert {o["name"] for o in metadata["outputs"]} == {"predict", "predict_proba"}

    # One 2-D tensor holding every feature, as KServe's sklearn server takes it.
    batch = httpclient.InferInput("input-0", list(frame.shape), "FP64")
    batch.set_data_from_numpy(frame.to_numpy(dtype=np.float64), binary_data=False)
    result = client.infer(
        "bc-prod", [batch], headers=headers, request_id="req-42",
        outputs=[httpclient.InferRequestedOutput("predict", binary_data=False),
                 httpclient.InferRequestedOutput("predict_proba", binary_data=False)],
    )
    assert result.as_numpy("predict").tolist() == truth
    assert result.as_numpy("predict_proba").shape == (4, 2)
    assert result.get_response()["id"] == "req-42"

    # One tensor per column, named by the column.
    per_column = []
    for column in frame.columns:
        tensor = httpclient.InferInput(column, [len(frame)], "FP64")
        tensor.set_data_from_numpy(frame[column].to_numpy(dtype=np.float64), binary_data=False)
        per_column.append(tensor)
    result = client.infer("bc-prod", per_column, headers=headers)
    assert result.as_numpy("predict").tolist() == truth

    with pytest.raises(InferenceServerException) as refused:
        client.infer("bc-prod", [batch])  # no key
    assert refused.value.status() == "401"
    wrong = httpclient.InferInput("input-0", [1, 3], "FP64")
    wrong.set_data_from_numpy(np.zeros((1, 3)), binary_data=False)
    with pytest.raises(InferenceServerException) as bad_shape:
        client.infer("bc-prod", [wrong], headers=headers)
    assert "shape" in str(bad_shape.value)
    client.close()


# --- deploy, revisions, rollback ---------------------------------------------------------


def test_deploying_again_adds_a_revision_and_rollback_switches_the_served_version(deployed, owner_api, owner):
    client = deployed["client"]
    body = {"instances": _rows(deployed["version"], 1)[0].values.tolist()}
    v2 = _register(owner_api, deployed["run"])

    redeployed = _deploy(owner_api, v2["id"], status=200)
    served_after_deploy = _post(client, PREDICT, body).json()
    rolled = owner_api.post("/api/deployments/bc-prod/rollback/", {}, format="json")
    served_after_rollback = _post(client, PREDICT, body).json()
    nothing_earlier = owner_api.post("/api/deployments/bc-prod/rollback/", {}, format="json")

    assert redeployed["revision"] == 2 and redeployed["model_version"]["version"] == 2
    assert served_after_deploy["model_version"] == 2 and served_after_deploy["revision"] == 2
    assert rolled.status_code == 200, rolled.content
    assert rolled.json()["revision"] == 3 and rolled.json()["model_version"]["version"] == 1
    assert served_after_rollback["model_version"] == 1 and served_after_rollback["revision"] == 3
    revisions = rolled.json()["revisions"]
    assert [(r["revision"], r["action"], r["version"], r["restores"]) for r in revisions] == [
        (3, "rollback", 1, 1), (2, "deploy", 2, None), (1, "deploy", 1, None)
    ]
    assert all(r["created_by"] == owner.username and r["created_at"] for r in revisions)
    assert nothing_earlier.status_code == 409


def test_a_change_made_by_another_process_reaches_this_one_through_the_stamp(deployed, owner_api):
    """Deploy in 'another process' = bump only Redis: this process's cache must notice."""
    from pipelines.serving import state

    client = deployed["client"]
    body = {"instances": _rows(deployed["version"], 1)[0].values.tolist()}
    assert _post(client, PREDICT, body).json()["model_version"] == 1
    v2 = _register(owner_api, deployed["run"])
    state._served["bc-prod"] = state._served.get("bc-prod") or state.served_get("bc-prod")
    stale = state._served["bc-prod"]

    _deploy(owner_api, v2["id"], status=200)
    state._served["bc-prod"] = stale  # as if this process had not seen the deploy
    state._stamp_checked = 0.0  # …but its stamp check is due
    state._stamp_value = "stale"

    assert _post(client, PREDICT, body).json()["model_version"] == 2


def test_a_viewer_reads_but_cannot_deploy_roll_back_or_manage_keys(deployed, make_user, owner):
    viewer = make_user("viewer")
    workspace = Workspace.objects.get(personal_owner=owner)
    Membership.objects.create(workspace=workspace, user=viewer, role=Role.VIEWER)
    api = api_client_for(viewer)

    assert api.get("/api/deployments/bc-prod/").status_code == 200
    deploy = api.post("/api/deployments/", {"name": "bc-prod", "model_version": deployed["version"]["id"]}, format="json")
    assert deploy.status_code == 403
    assert api.post("/api/deployments/bc-prod/rollback/", {}, format="json").status_code == 403
    assert api.post("/api/deployments/bc-prod/keys/", {}, format="json").status_code == 403
    # A viewer is a member: its token may predict.
    body = {"instances": _rows(deployed["version"], 1)[0].values.tolist()}
    assert _post(api, PREDICT, body).status_code == 200


# --- auth ------------------------------------------------------------------------------


def test_predictions_are_served_to_keys_and_members_only(deployed, owner_api, outsider_api, outsider):
    body = {"instances": _rows(deployed["version"], 1)[0].values.tolist()}
    anonymous = APIClient()
    wrong_key = APIClient()
    wrong_key.credentials(HTTP_AUTHORIZATION="Bearer mlsk_not-a-real-key")
    keys = owner_api.get("/api/deployments/bc-prod/keys/").json()

    assert _post(anonymous, PREDICT, body).status_code == 401
    assert "Bearer" in _post(anonymous, PREDICT, body)["WWW-Authenticate"]
    assert _post(anonymous, "/api/deployments/nope/predict", body).status_code == 401
    assert _post(wrong_key, PREDICT, body).status_code == 401
    assert _post(outsider_api, PREDICT, body).status_code == 404
    assert _post(outsider_api, "/v2/models/bc-prod/infer", {"inputs": []}).status_code == 404
    assert outsider_api.get("/api/deployments/bc-prod/").status_code == 404
    assert _post(deployed["client"], "/api/deployments/nope/predict", body).status_code == 404
    assert keys[0]["prefix"] == deployed["key"][:12] and "key" not in keys[0]
    assert "key_hash" not in keys[0]

    # A key of one deployment does not open another one.
    _deploy(owner_api, deployed["version"]["id"], name="other")
    other_key = APIClient()
    other_key.credentials(HTTP_AUTHORIZATION=f"Bearer {_key(owner_api, 'other')}")
    assert _post(other_key, PREDICT, body).status_code == 404

    revoked = owner_api.delete(f"/api/deployments/bc-prod/keys/{keys[0]['id']}/")
    assert revoked.status_code == 204
    assert _post(deployed["client"], PREDICT, body).status_code == 401
    assert owner_api.get("/api/deployments/bc-prod/keys/").json()[0]["active"] is False


def test_a_revoked_key_is_refused_by_a_process_that_had_cached_it(deployed, owner_api):
    from pipelines.serving import state

    body = {"instances": _rows(deployed["version"], 1)[0].values.tolist()}
    assert _post(deployed["client"], PREDICT, body).status_code == 200
    cached = state._served["bc-prod"]
    key_id = owner_api.get("/api/deployments/bc-prod/keys/").json()[0]["id"]

    owner_api.delete(f"/api/deployments/bc-prod/keys/{key_id}/")
    state._served["bc-prod"] = cached  # another process still holds the key…
    state._stamp_checked = 0.0  # …until its next stamp check
    state._stamp_value = "stale"

    assert _post(deployed["client"], PREDICT, body).status_code == 401


# --- bad input -------------------------------------------------------------------------


def test_every_kind_of_bad_input_gets_a_4xx_naming_the_field_and_the_endpoint_keeps_serving(deployed):
    client = deployed["client"]
    frame, _ = _rows(deployed["version"], 2)
    record = frame.to_dict(orient="records")[0]
    without = {k: v for k, v in record.items() if k != "mean radius"}
    cases = [
        ("missing column", {"instances": [without]}, 422, "mean radius"),
        ("extra column", {"instances": [{**record, "colour": 1}]}, 422, "colour"),
        ("text in a number column", {"instances": [{**record, "mean area": "big"}]}, 422, "mean area"),
        ("boolean in a number column", {"instances": [{**record, "mean area": True}]}, 422, "mean area"),
        ("null without an imputer", {"instances": [{**record, "mean texture": None}]}, 422, "mean texture"),
        ("empty batch", {"instances": []}, 400, "instances"),
        ("oversized batch", {"instances": [record] * 1001}, 413, "instances"),
        ("row too short", {"instances": [[1.0, 2.0]]}, 422, "instances"),
        ("split with a missing column", {"dataframe_split": {"columns": ["mean radius"], "data": [[1.0]]}}, 422, "mean texture"),
        ("two formats", {"instances": [record], "inputs": [record]}, 400, "inputs"),
        ("unknown key", {"rows": [record]}, 400, "rows"),
        ("not an object", [record], 400, "body", "JSON object"),
        ("columns of different lengths", {"inputs": {**{c: [1.0] for c in record}, "mean area": [1.0, 2.0]}}, 422, "inputs"),
    ]
    raw_cases = [
        ("malformed JSON", b'{"instances": [', 400, "body", "JSON"),
        ("NaN literal", json.dumps({"instances": [{**record, "mean area": float("nan")}]}).encode(), 422, "mean area"),
        ("Infinity literal", json.dumps({"instances": [[float("inf")] + list(record.values())[1:]]}).encode(), 422, "mean radius"),
        ("empty body", b"", 400, "body", "empty"),
    ]

    # Each answer: its status, the field it blames and whether its message names the
    # culprit (the field itself, or for the whole body what is wrong with it).
    answers, expected, replies = {}, {}, {}
    for label, body, status, field, *named in cases + raw_cases:
        response = _post(client, PREDICT, body)
        replies[label] = data = response.json()
        culprit = named[0] if named else field
        answers[label] = (response.status_code, data["field"], culprit in data["detail"])
        expected[label] = (status, field, True)
    assert answers == expected, {label: replies[label] for label in answers if answers[label] != expected[label]}

    huge = b'{"instances": [' + b"1," * (3 * 1024 * 1024) + b"1]}"
    assert _post(client, PREDICT, huge).status_code == 413
    tensors = [
        {"name": column, "shape": [1], "datatype": "FP64", "data": ["x" if column == "mean radius" else value]}
        for column, value in record.items()
    ]
    v2 = _post(client, "/v2/models/bc-prod/infer", {"inputs": tensors})
    assert (v2.status_code, v2.json()["field"]) == (422, "mean radius")
    assert "mean radius" in v2.json()["error"]
    assert _post(client, PREDICT, {"instances": [record]}).status_code == 200


# --- logs and feedback ----------------------------------------------------------------------


def test_predictions_are_logged_in_batches_and_ground_truth_can_be_posted_later(deployed, owner_api):
    client = deployed["client"]
    frame, truth = _rows(deployed["version"], 2)
    first = _post(client, PREDICT, {"instances": frame.values.tolist()}).json()
    second = _post(client, PREDICT, {"instances": frame.head(1).values.tolist()}).json()
    _post(client, PREDICT, {"instances": []})  # a refused request counts as an error

    prediction_logs_flush()
    logs = {log.request_id: log for log in PredictionLog.objects.all()}
    one = logs[first["request_id"]]
    assert one.status == 200 and one.n_rows == 2 and one.protocol == "json"
    assert one.model_version_id == deployed["version"]["id"]
    assert one.inputs[0]["mean radius"] == frame.iloc[0]["mean radius"]
    assert one.outputs["predictions"] == first["predictions"]
    assert len(one.outputs["probabilities"]) == 2
    assert one.latency_ms > 0
    assert sorted(log.status for log in logs.values()) == [200, 200, 400]

    single = _post(client, "/api/deployments/bc-prod/feedback", {"request_id": second["request_id"], "label": truth[0]})
    batch = _post(client, "/api/deployments/bc-prod/feedback", [{"request_id": first["request_id"], "label": truth}])
    unknown = _post(client, "/api/deployments/bc-prod/feedback", {"request_id": "nope", "label": 1})
    wrong_count = _post(client, "/api/deployments/bc-prod/feedback", {"request_id": first["request_id"], "label": [1]})
    no_label = _post(client, "/api/deployments/bc-prod/feedback", {"request_id": first["request_id"]})

    assert single.status_code == 200 and single.json() == {"updated": 1}
    assert (batch.status_code, batch.json()) == (200, {"updated": 1}), batch.content
    assert unknown.status_code == 404 and unknown.json()["field"] == "request_id"
    assert wrong_count.status_code == 400 and wrong_count.json()["field"] == "label"
    assert no_label.status_code == 400 and no_label.json()["field"] == "label"
    assert PredictionLog.objects.get(request_id=first["request_id"]).label == truth
    assert PredictionLog.objects.get(request_id=second["request_id"]).label == [truth[0]]

    stats = owner_api.get("/api/deployments/bc-prod/").json()["stats"]
    assert stats["requests"] == 3 and stats["errors"] == 1
    assert stats["error_rate"] == pytest.approx(1 / 3)
    assert stats["p50_ms"] > 0 and stats["p95_ms"] >= stats["p50_ms"]
    assert stats["labeled"] == 2


# --- pages -------------------------------------------------------------------------------


def test_registry_pages_render_for_members_and_are_hidden_from_outsiders(deployed, owner, outsider, client):
    from django.test import Client

    client.force_login(owner)
    _post(deployed["client"], PREDICT, {"instances": _rows(deployed["version"], 1)[0].values.tolist()})
    prediction_logs_flush()
    version_id = deployed["version"]["id"]

    models = client.get("/models/")
    version = client.get(f"/models/{version_id}/")
    deployment = client.get("/deployments/bc-prod/")
    stranger = Client()
    stranger.force_login(outsider)

    assert models.status_code == 200 and b"bc-prod" in models.content
    assert version.status_code == 200
    for text in (b"Model card", b"Input signature", b"mean radius", b"Lineage", b"scikit-learn", b"Deploy"):
        assert text in version.content, text
    assert deployment.status_code == 200
    for text in (b"/api/deployments/bc-prod/predict", b"/v2/models/bc-prod/infer", b"curl -X POST",
                 b"import os, requests", b"try-form", b"p95 latency", b"Revisions", b"API keys"):
        assert text in deployment.content, text
    assert stranger.get(f"/models/{version_id}/").status_code == 404
    assert stranger.get("/deployments/bc-prod/").status_code == 404


def test_the_try_it_form_predicts_with_the_session_and_its_csrf_token(deployed, owner):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    page = browser.get("/deployments/bc-prod/")
    token = page.cookies["csrftoken"].value
    body = json.dumps({"instances": _rows(deployed["version"], 1)[0].to_dict(orient="records")})

    without = browser.post(PREDICT, body, content_type="application/json")
    with_token = browser.post(PREDICT, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)

    assert without.status_code == 403
    assert with_token.status_code == 200, with_token.content


# --- the ASGI fast path ------------------------------------------------------------------------


def _asgi(method, path, body=b"", headers=()):

    from asgiref.testing import ApplicationCommunicator

    from pipelines.serving.asgi import application

    async def call():
        scope = {
            "type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
            "headers": [(b"content-length", str(len(body)).encode()), *headers], "scheme": "http",
            "server": ("testserver", 80), "client": ("127.0.0.1", 1234), "http_version": "1.1",
            "asgi": {"version": "3.0"}, "root_path": "",
        }
        app = ApplicationCommunicator(application, scope)
        await app.send_input({"type": "http.request", "body": body, "more_body": False})
        start = await app.receive_output(10)
        out = await app.receive_output(10)
        return start["status"], json.loads(out["body"])

    return run_async(call())


def test_the_asgi_fast_path_serves_the_same_contract_as_the_django_views(deployed):
    body = json.dumps({"instances": _rows(deployed["version"], 2)[0].values.tolist()}).encode()
    key = (b"authorization", f"Bearer {deployed['key']}".encode())

    ok = _asgi("POST", PREDICT, body, [key])
    again = _asgi("POST", PREDICT + "/", body, [key])
    no_key = _asgi("POST", PREDICT, body, [(b"authorization", b"Bearer nope")])
    bad = _asgi("POST", PREDICT, b'{"instances": []}', [key])
    metadata = _asgi("GET", "/v2/models/bc-prod", b"", [key])
    live = _asgi("GET", "/v2/health/live")

    assert ok[0] == 200 and ok[1]["predictions"] == _rows(deployed["version"], 2)[1]
    assert again[0] == 200 and again[1]["model_version"] == 1
    assert no_key[0] == 401
    assert bad[0] == 400 and bad[1]["field"] == "instances"
    assert metadata[0] == 200 and metadata[1]["name"] == "bc-prod"
    assert live == (200, {"live": True})

"""The OpenAPI schema is valid, the editor's types are generated from it, and the
running server answers what it documents (schemathesis against a live server)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SkPipeline

from pipelines.models import (
    Pipeline,
    PipelineVersion,
    Run,
    RunStatus,
    StepRun,
    StepStatus,
    Workspace,
)
from pipelines.services.artifacts import artifact_store, artifacts_record
from pipelines.services.deployments import deployment_deploy, deployment_key_create
from pipelines.services.registry import model_register
from pipelines.services.schedules import schedule_create
from pipelines.services.triggers import trigger_create
from tests.conftest import worker_env
from tests.processes import die_with_parent

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
GENERATED_TYPES = FRONTEND / "src" / "api-schema.d.ts"
SCHEMATHESIS = ROOT / "var" / "schemathesis-venv" / "bin" / "schemathesis"
# Bounded so that the whole schemathesis step stays within a few minutes on 2 cores.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))


def write_schema(path: Path) -> Path:
    call_command("spectacular", "--file", str(path), "--validate", "--fail-on-warn")
    return path


def test_the_openapi_schema_validates_without_warnings(tmp_path):
    schema = write_schema(tmp_path / "schema.yaml").read_text()
    for path in ("/api/deployments/{name}/predict", "/api/deployments/{name}/feedback", "/v2/models/{name}/infer"):
        assert f"  {path}:" in schema, path


def _schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _request_ref(operation: dict) -> str | None:
    content = operation.get("requestBody", {}).get("content", {})
    for media in content.values():
        return media["schema"].get("$ref", "").rsplit("/", 1)[-1] or None
    return None


def test_each_operation_documents_its_own_request_body():
    paths = _schema()["paths"]
    users_of_token_body = [
        f"{method.upper()} {path}"
        for path, item in paths.items()
        for method, operation in item.items()
        if _request_ref(operation) == "TokenCreateInput"
    ]
    assert users_of_token_body == ["POST /api/auth/token/"]
    assert _request_ref(paths["/api/pipelines/"]["post"]) == "PipelineListInput"
    assert _request_ref(paths["/api/pipelines/{pipeline_id}/runs/"]["post"]) == "PipelineRunListInput"
    assert _request_ref(paths["/api/workspaces/{workspace_id}/members/"]["post"]) == "MemberListInput"


def test_list_endpoints_are_documented_as_pages_and_errors_by_status():
    paths = _schema()["paths"]
    page = paths["/api/pipelines/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert page["$ref"].endswith("/PaginatedPipelineListOutList")
    put = paths["/api/pipelines/{pipeline_id}/"]["put"]["responses"]
    assert {"400", "403", "404", "409", "412", "428"} <= set(put)
    assert put["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")


def generate_types(schema: Path, out: Path) -> None:
    subprocess.run(
        ["npx", "--no-install", "openapi-typescript", str(schema), "--output", str(out)],
        cwd=FRONTEND, check=True, capture_output=True, timeout=120,
    )


def test_the_committed_frontend_api_types_are_generated_from_the_current_schema(tmp_path):
    schema = write_schema(tmp_path / "schema.yaml")
    generated = tmp_path / "api-schema.d.ts"
    generate_types(schema, generated)
    assert generated.read_bytes() == GENERATED_TYPES.read_bytes(), (
        "frontend/src/api-schema.d.ts is stale: run `make api-types` and commit the result"
    )


# --- schemathesis --------------------------------------------------------------------------


def _seed() -> dict:
    """A user with a token, a valid pipeline, a finished run whose model is registered and
    deployed with a key: enough for most operations to reach their real code."""
    user = get_user_model().objects.create_user(username="fuzzer", password="pass-12345")
    token = Token.objects.create(user=user).key
    workspace = Workspace.objects.get(personal_owner=user)
    graph = {
        "nodes": [
            {"id": "load", "block": "dataset.builtin", "params": {"name": "iris"}, "position": {"x": 0, "y": 0}},
            {"id": "split", "block": "data.split", "params": {}, "position": {"x": 200, "y": 0}},
        ],
        "edges": [{"source": "load", "source_port": "table", "target": "split", "target_port": "table"}],
    }
    pipeline = Pipeline.objects.create(workspace=workspace, name="fuzzed", graph=graph, created_by=user)
    version = PipelineVersion.objects.create(pipeline=pipeline, number=1, graph=graph, graph_hash="h1")
    run = Run.objects.create(
        workspace=workspace, pipeline=pipeline, pipeline_version=version, status=RunStatus.SUCCEEDED,
        created_by=user, steps_total=2, steps_done=2,
    )
    table = pd.DataFrame({"a": [0.0, 1, 2, 3], "b": [1.0, 0, 1, 0], "target": [0, 1, 0, 1]})
    model = SkPipeline([("lr", LogisticRegression())]).fit(table[["a", "b"]], table["target"])
    store = artifact_store()
    table_ref, model_ref = store.put_table(table), store.put_object(model)
    artifacts_record([table_ref, model_ref])
    StepRun.objects.create(
        run=run, node_id="load", block_key="dataset.builtin", block_version="1", position=0,
        status=StepStatus.SUCCEEDED, outputs={"table": table_ref.as_ref()},
    )
    StepRun.objects.create(
        run=run, node_id="train", block_key="model.train", block_version="1", position=1,
        status=StepStatus.SUCCEEDED, inputs={"table": ["load", "table"]}, params={"target": "target"},
        outputs={"model": model_ref.as_ref()},
    )
    model_version = model_register(user=user, name="fuzzed", run=run, node_id="train")
    deployment, _ = deployment_deploy(user=user, name="fuzzed", version=model_version)
    key, _ = deployment_key_create(user=user, deployment=deployment, name="fuzz")
    schedule = schedule_create(pipeline=pipeline, user=user, cron="0 3 * * *")
    trigger, _ = trigger_create(pipeline=pipeline, user=user, kind="webhook")
    return {
        "token": token, "workspace": workspace.pk, "pipeline": pipeline.pk, "run": run.pk,
        "model_version": model_version.pk, "deployment": deployment.name, "key": key.pk,
        "schedule": schedule.pk, "trigger": trigger.pk,
    }


def _config(seed: dict) -> str:
    """schemathesis.toml: the seeded user's token, path parameters that point at the
    seeded objects, and the few statuses a schema cannot promise (each says why)."""
    return f"""
[auth.openapi.tokenAuth]
api_key = "Token {seed["token"]}"

[parameters]
"path.workspace_id" = {seed["workspace"]}
"path.pipeline_id" = {seed["pipeline"]}
"path.run_id" = {seed["run"]}
"path.version_id" = {seed["model_version"]}
"path.name" = "{seed["deployment"]}"
"path.key_id" = {seed["key"]}
"path.number" = 1
"path.schedule_id" = {seed["schedule"]}
"path.trigger_id" = {seed["trigger"]}
# The optional ?workspace= (which of the caller's workspaces a name belongs to): an object
# generated for it goes out as workspace[key]=…, which is no "workspace" parameter at all,
# so the request is valid and answered; the seeded workspace is what a client sends.
"query.workspace" = {seed["workspace"]}

# Strings with NUL are valid JSON, but PostgreSQL cannot store them: the API refuses
# them with a 400 naming the field. Not worth a fuzzing budget here.
[generation]
allow-x00 = false

# The columns a prediction takes come from each deployment's signature, which one
# schema for every deployment cannot state: a body of the documented form may still
# name the wrong columns (400) or values the model cannot use (422).
[[operations]]
include-name-regex = "^POST .*/(predict|infer)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "422"]

# Feedback quotes request ids of earlier predictions: generated ones are unknown (404)
# or carry the wrong number of labels for that request (400).
[[operations]]
include-name = "POST /api/deployments/{{name}}/feedback"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]

# Node ids must be unique in a graph, which JSON Schema cannot state (400 otherwise);
# a write names the version it edits in the body or in If-Match, and OpenAPI cannot
# say "one of the two", so a body with neither is valid by the schema and gets 428.
[[operations]]
include-name-regex = "^(POST /api/pipelines/|(PUT|PATCH) /api/pipelines/[{{]pipeline_id[}}]/)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "412", "428"]

# A workspace's name is trimmed, and a name of nothing but white space is blank (400):
# JSON Schema's patterns cannot name every character Python counts as white space.
[[operations]]
include-name = "POST /api/workspaces/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]

# Removing or demoting the workspace's last admin is refused (400) whatever the body.
[[operations]]
include-name-regex = "^(POST|DELETE) /api/workspaces/[{{]workspace_id[}}]/members/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]

# A well-formed username and password that match no user are a 400 (the token
# endpoint's contract); a schema cannot say which credentials exist.
[[operations]]
include-name = "POST /api/auth/token/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400"]

# Any bytes are a valid "binary" file to the schema; the upload must be a CSV (400 otherwise).
[[operations]]
include-name = "POST /api/datasets/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]

# "node" must name a training node of that run, which the schema cannot list (400).
[[operations]]
include-name = "POST /api/models/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

# Monitoring takes start < end, at most ten years apart, from 1970 on: a schema cannot
# relate two parameters or bound a date-time, so other well-formed pairs are a 400.
# A reference's fields depend on its kind (a window needs start and end, a dataset its
# name) and the dataset must exist in the workspace with the model's columns: 400 naming the field.
[[operations]]
include-name-regex = "^(GET|POST|PUT) /api/deployments/[{{]name[}}]/monitoring/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]

# A connection is tried once when it is saved: a host that does not answer, or one
# that resolves to a link-local or metadata address, is a 400 naming the field.
[[operations]]
include-name = "POST /api/connections/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

# A threshold's range depends on the signal (drift_share, error_rate, quality: (0, 1];
# feature_drift: a whole number ≥ 1; latency_p95_ms: > 0 …), and a PATCH may send the
# threshold alone, checked against the stored rule's signal; a channel's target must be an
# email address or an http(s) URL by its kind, never a link-local or metadata address.
# One schema cannot state either: 400 naming "threshold" or "channels[i].target".
[[operations]]
include-name-regex = "^(POST /api/deployments/[{{]name[}}]/alert-rules/|(PUT|PATCH) /api/deployments/[{{]name[}}]/alert-rules/[{{]rule_id[}}]/)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]

# A retrain policy's pipeline must be in the deployment's workspace and train a model
# (a model.train or model.tune node), which the schema cannot know: 400 naming "pipeline".
[[operations]]
include-name = "PUT /api/deployments/{{name}}/retrain/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]

# A run needs a valid graph, and a schema-valid PATCH earlier in a stateful sequence may
# have left the draft empty or invalid: 400 with the errors keyed by node id.
[[operations]]
include-name = "POST /api/pipelines/{{pipeline_id}}/runs/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]
# Delivery: a gate must name a metric the model reports and a known kind; a traffic
# split or a deployment that follows a model must name aliases the model has; an
# override needs a reason; a promotion a blocking gate refuses is a 422. None of
# these depend on the body's shape alone.
[[operations]]
include-name-regex = "^(PUT /api/registered-models/.*/gates/|PUT /api/deployments/.*/traffic/|POST /api/deployments/)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

[[operations]]
include-name-regex = "^POST /api/registered-models/.*/promote/$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "422"]

# Pipeline documents, schedules and triggers are checked beyond JSON Schema (400): node ids
# unique, a cron that parses, exactly one of cron and every_seconds, the dataset or
# upstream pipeline a trigger names must exist, a pipeline trigger must not close a loop;
# a pushed document must carry the current version (409).
[[operations]]
include-name-regex = "^POST /api/pipelines/(import/|[{{]pipeline_id[}}]/(import|schedules|triggers)/)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _gunicorn(artifact_root, log: Path):
    """The app as deployed (gunicorn, 2 workers) on a free loopback port, on the test database."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(gunicorn), "mlops_studio.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--threads", "2", "--timeout", "60"],
            cwd=ROOT, env=worker_env(artifact_root), stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/v2/health/live", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start:\n" + log.read_text()[-3000:])
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_undocumented_responses_and_no_server_errors(artifact_root, tmp_path):
    if not SCHEMATHESIS.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{SCHEMATHESIS} is missing: `make schemathesis-venv` installs it")
        pytest.skip("schemathesis is not installed: run `make schemathesis-venv`")
    seed = _seed()
    schema = write_schema(tmp_path / "schema.yaml")
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(seed))
    report = tmp_path / "report"
    server_log = tmp_path / "gunicorn.log"
    with _gunicorn(artifact_root, server_log) as url:
        command = [
            str(SCHEMATHESIS), "--config-file", str(config), "run", str(schema),
            "--url", url,
            "--checks", "all",
            "--max-examples", str(MAX_EXAMPLES),
            "--workers", "2",
            "--seed", "20261130",
            "--no-color",
            "--request-timeout", "30",
            "--report", "junit", "--report-dir", str(report),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    keep = os.environ.get("SCHEMATHESIS_OUTPUT")
    if keep:
        Path(keep).write_text(result.stdout + result.stderr + "\n--- gunicorn ---\n" + server_log.read_text())
    assert result.returncode == 0, (
        result.stdout[-20000:] + result.stderr[-3000:] + "\n--- server log ---\n" + server_log.read_text()[-5000:]
    )

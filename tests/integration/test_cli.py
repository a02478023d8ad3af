"""The ``mlops`` CLI end to end: a subprocess against a live server, with a real worker.

Exit codes are the contract CI jobs use: 0 done, 1 the run failed / a gate
blocked / the graph is invalid, 2 the server refused the request, 3 unreachable.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tomllib

import pytest
import yaml
from django.urls import Resolver404, resolve

from pipelines.demo import DEMO_PIPELINES
from pipelines.graph.builder import GraphBuilder
from pipelines.models import Deployment, Pipeline
from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mlops(tmp_path, live_server):
    """``mlops(*args)`` → CompletedProcess; a fresh config dir, pointed at the live server."""
    home = tmp_path / "home"
    home.mkdir()

    def run(*args: str, token: str | None = None, url: str | None = None, stdin: str | None = None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), MLOPS_URL=url or live_server.url)
        if token:
            env["MLOPS_TOKEN"] = token
        return subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *args], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
            capture_output=True, text=True, timeout=180, input=stdin,
        )

    run.home = home
    return run


@pytest.fixture
def token(owner):
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=owner)[0].key


def _failing_graph(owner_api) -> dict:
    """Valid, but training fails on the worker: a text column without an encoder."""
    rows = "".join(f"{20 + i % 50},{'male' if i % 2 else 'female'},{i % 2}\n" for i in range(60))
    upload = io.BytesIO(("age,sex,target\n" + rows).encode())
    upload.name = "people.csv"
    dataset = owner_api.post("/api/datasets/", {"file": upload}, format="multipart").json()
    return (
        GraphBuilder()
        .node("load", "dataset.upload", dataset=dataset["sha256"])
        .node("split", "data.split")
        .node("logreg", "sklearn.linear_model.LogisticRegression")
        .node("train", "model.train", target="target")
        .edge("load.table", "split.table")
        .edge("logreg.estimator", "train.estimator")
        .edge("split.train", "train.table")
        .build()
    )


def test_the_console_script_is_declared_and_importable_without_django():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["mlops"] == "pipelines.cli:main"
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, pipelines.cli; pipelines.cli.main; print('django' in sys.modules)"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "DJANGO_SETTINGS_MODULE": ""},
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "False"


def test_login_stores_the_token_privately_and_later_commands_use_it(mlops, owner):
    logged = mlops("login", "--username", "owner", "--password", "pass-12345")
    listed = mlops("runs", "list")

    assert logged.returncode == 0, logged.stderr
    config = mlops.home / ".config" / "mlops" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert listed.returncode == 0, listed.stderr
    assert "no runs" in listed.stdout
    wrong = mlops("login", "--username", "owner", "--password", "nope")
    assert wrong.returncode == 2 and "refused" in wrong.stderr


def test_push_then_run_wait_succeeds_and_a_failing_run_exits_non_zero(
    mlops, token, owner_api, tmp_path, celery_worker_process
):
    created = owner_api.post(
        "/api/pipelines/", {"name": "bc", "graph": DEMO_PIPELINES[0]["graph"]()}, format="json"
    ).json()
    file = tmp_path / "bc.yaml"

    pulled = mlops("pipeline", "pull", str(created["id"]), "-o", str(file), token=token)
    assert pulled.returncode == 0, pulled.stderr
    stale = file.read_text()
    document = yaml.safe_load(stale)
    document["graph"]["nodes"][3]["params"]["C"] = 0.5
    file.write_text(yaml.safe_dump(document, sort_keys=False))

    pushed = mlops("pipeline", "push", str(file), token=token)
    assert pushed.returncode == 0, pushed.stderr
    assert Pipeline.objects.get(pk=created["id"]).graph["nodes"][3]["params"]["C"] == 0.5
    assert yaml.safe_load(file.read_text())["version"] == created["version"] + 1  # ready for the next push
    (tmp_path / "stale.yaml").write_text(stale)
    refused = mlops("pipeline", "push", str(tmp_path / "stale.yaml"), token=token)
    assert refused.returncode == 2 and "saved since" in refused.stderr

    valid = mlops("pipeline", "validate", str(created["id"]), token=token)
    assert valid.returncode == 0 and valid.stdout.startswith("valid"), valid.stdout
    ok = mlops("pipeline", "run", str(created["id"]), "--wait", "--timeout", "120", token=token)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "succeeded" in ok.stdout and "accuracy" in ok.stdout

    failing = owner_api.post("/api/pipelines/", {"name": "broken", "graph": _failing_graph(owner_api)}, format="json")
    failed = mlops("pipeline", "run", str(failing.json()["id"]), "--wait", "--timeout", "120", token=token)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "failed" in failed.stdout and "train" in failed.stdout

    listed = mlops("runs", "list", "--status", "failed", token=token)
    assert listed.returncode == 0 and "broken" in listed.stdout and "bc" not in listed.stdout.split("\n", 1)[1]
    run_id = listed.stdout.splitlines()[1].split()[0]
    shown = mlops("--json", "runs", "show", run_id, token=token)
    assert shown.returncode == 0 and '"status": "failed"' in shown.stdout


def test_import_a_new_pipeline_and_validate_an_invalid_file(mlops, token, tmp_path):
    file = tmp_path / "new.json"
    file.write_text('{"name": "from ci", "graph": {"nodes": [{"id": "t", "block": "model.train"}], "edges": []}}')

    imported = mlops("pipeline", "push", str(file), token=token)

    assert imported.returncode == 0, imported.stderr
    pipeline = Pipeline.objects.get(name="from ci")
    invalid = mlops("pipeline", "validate", str(pipeline.pk), "--file", str(file), token=token)
    assert invalid.returncode == 1
    assert invalid.stdout.startswith("invalid") and "t:" in invalid.stdout


def test_refusals_and_an_unreachable_server_have_their_own_exit_codes(mlops, token, outsider_api):
    theirs = outsider_api.post("/api/pipelines/", {"name": "theirs"}, format="json").json()

    hidden = mlops("pipeline", "run", str(theirs["id"]), token=token)
    no_token = mlops("runs", "list")
    bad_token = mlops("runs", "list", token="not-a-token")
    down = mlops("runs", "list", "--url", "http://127.0.0.1:9", token=token)

    assert hidden.returncode == 2 and "not found" in hidden.stderr
    assert no_token.returncode == 2 and "mlops login" in no_token.stderr
    assert bad_token.returncode == 2
    assert "(401)" in bad_token.stderr or "(403)" in bad_token.stderr
    assert down.returncode == 3 and "cannot reach" in down.stderr


def test_deploy_pins_a_model_version(mlops, token, owner_api, celery_worker_process):
    from tests.conftest import wait_for_run

    created = owner_api.post("/api/pipelines/", {"name": "bc", "graph": DEMO_PIPELINES[0]["graph"]()}, format="json")
    run = wait_for_run(owner_api, owner_api.post(f"/api/pipelines/{created.json()['id']}/runs/", {}, format="json").json()["id"])
    version = owner_api.post("/api/models/", {"name": "bc-model", "run": run["id"], "node": "train"}, format="json").json()

    deployed = mlops("deploy", "bc-cli", "--model-version", str(version["id"]), token=token)
    usage = mlops("deploy", "bc-cli", token=token)

    assert deployed.returncode == 0, deployed.stderr
    assert "/api/deployments/bc-cli/predict" in deployed.stdout
    assert Deployment.objects.filter(name="bc-cli").exists()
    assert usage.returncode == 2


def _promote_api_exists() -> bool:
    try:
        resolve("/api/registered-models/m/versions/1/promote/")
    except Resolver404:
        return False
    return True


@pytest.mark.skipif(not _promote_api_exists(), reason="needs the promotion API (issue 10, gates and aliases)")
def test_model_promote_exits_non_zero_when_a_gate_blocks(mlops, token, owner_api, celery_worker_process):
    from tests.conftest import wait_for_run

    created = owner_api.post("/api/pipelines/", {"name": "bc", "graph": DEMO_PIPELINES[0]["graph"]()}, format="json")
    run = wait_for_run(owner_api, owner_api.post(f"/api/pipelines/{created.json()['id']}/runs/", {}, format="json").json()["id"])
    version = owner_api.post("/api/models/", {"name": "bc-model", "run": run["id"], "node": "train"}, format="json").json()
    gates = owner_api.put(
        "/api/registered-models/bc-model/gates/",
        {"checks": [{"kind": "metric_min", "blocking": True, "metric": "accuracy", "value": 1.01}]},
        format="json",
    )
    assert gates.status_code == 200, gates.content

    blocked = mlops("model", "promote", "bc-model", str(version["version"]), "--alias", "champion", token=token)
    owner_api.put("/api/registered-models/bc-model/gates/", {"checks": []}, format="json")
    passed = mlops("model", "promote", "bc-model", str(version["version"]), "--alias", "champion", token=token)

    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "blocked" in blocked.stdout and "metric_min" in blocked.stdout
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "promoted" in passed.stdout

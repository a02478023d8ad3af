"""The deployable manifests (Dockerfile, deploy/compose.yaml, deploy/kubernetes/) parse,
serve every queue, scale every queue, probe every long-running role, and only set
environment variables the app (or a library it uses) reads."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from pipelines.health import HEALTH_PATHS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
QUEUES = set(settings.TASK_QUEUES)
# Read by libraries, not by settings.py: boto3/botocore (the S3 store).
LIBRARY_ENV = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"}
# DESIGN.md "Storage and scale" names it; the storage work reads it.
CONTRACT_ENV = {"ARTIFACT_STORAGE"}


def settings_env() -> set[str]:
    """Every variable settings.py reads: os.environ.get / env_bool / env_int, and DATABASE_URL
    (read by dj_database_url.config)."""
    source = (ROOT / "mlops_studio" / "settings.py").read_text()
    names = set(re.findall(r'(?:os\.environ\.get|os\.environ\.setdefault|env_\w+)\(\s*"([A-Z0-9_]+)"', source))
    names |= set(re.findall(r'os\.environ\["([A-Z0-9_]+)"\]', source))
    if "dj_database_url.config(" in source:
        names.add("DATABASE_URL")
    return names


def k8s_docs() -> list[dict]:
    docs = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def served_queues(command: list[str]) -> set[str]:
    """The queues a ``celery worker`` command line consumes (all four without -Q)."""
    for i, arg in enumerate(command):
        if arg in ("-Q", "--queues"):
            return set(command[i + 1].split(","))
        if arg.startswith("--queues="):
            return set(arg.split("=", 1)[1].split(","))
    return set(QUEUES)


def containers(docs, kind="Deployment"):
    for doc in docs:
        if doc["kind"] == kind:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                yield doc, container


def test_every_manifest_parses_and_names_its_kind():
    docs = k8s_docs()
    assert docs, "no Kubernetes manifests"
    for doc in docs:
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"], doc
    assert compose()["services"]


def test_every_queue_has_a_kubernetes_worker_and_a_keda_scaled_object_on_its_redis_list():
    docs = k8s_docs()
    workers = {
        doc["metadata"]["name"]: served_queues(c["command"])
        for doc, c in containers(docs) if c["command"][:4] == ["celery", "-A", "mlops_studio", "worker"]
    }
    assert set().union(*workers.values()) >= QUEUES
    scaled = {}
    for doc in docs:
        if doc["kind"] == "ScaledObject":
            assert doc["apiVersion"] == "keda.sh/v1alpha1"
            target = doc["spec"]["scaleTargetRef"]["name"]
            assert target in workers, f"{doc['metadata']['name']} scales no worker"
            (trigger,) = doc["spec"]["triggers"]
            assert trigger["type"] == "redis"
            assert trigger["metadata"]["listName"] in workers[target]
            assert int(trigger["metadata"]["listLength"]) >= 1
            scaled[trigger["metadata"]["listName"]] = target
    assert set(scaled) == QUEUES


def test_every_queue_has_a_compose_worker_and_there_is_exactly_one_beat():
    services = compose()["services"]
    commands = {name: s.get("command") or [] for name, s in services.items()}
    served = set()
    for command in commands.values():
        if command[:4] == ["celery", "-A", "mlops_studio", "worker"]:
            served |= served_queues(command)
            assert any(a.startswith("--autoscale=") for a in command)
    assert served >= QUEUES
    beats = [n for n, c in commands.items() if c[:4] == ["celery", "-A", "mlops_studio", "beat"]]
    assert len(beats) == 1
    for role in ("web", "serving", "postgres", "redis", "minio"):
        assert role in services


def test_web_serving_and_workers_have_liveness_and_readiness_probes():
    paths = set()
    roles = set()
    for doc, container in containers(k8s_docs()):
        if doc["metadata"]["name"] == "beat":
            continue  # one scheduler, nothing to route to it
        roles.add(doc["metadata"]["labels"]["app.kubernetes.io/component"])
        for probe in ("livenessProbe", "readinessProbe"):
            assert probe in container, f"{doc['metadata']['name']} has no {probe}"
            spec = container[probe]
            if "httpGet" in spec:
                paths.add(spec["httpGet"]["path"])
            else:
                assert "inspect ping" in spec["exec"]["command"][-1]
    assert roles == {"web", "serving", "worker"}
    assert {"/healthz", "/readyz"} <= paths and set(HEALTH_PATHS) == {"/healthz", "/readyz"}
    assert {"/v2/health/live", "/v2/health/ready"} <= paths
    services = compose()["services"]
    for role in ("web", "serving", "worker"):
        assert services[role]["healthcheck"]["test"]


@pytest.mark.parametrize("where", ["kubernetes", "compose"])
def test_environment_names_are_the_ones_settings_reads(where):
    if where == "kubernetes":
        names = set()
        for doc in k8s_docs():
            if doc["kind"] in ("ConfigMap", "Secret"):
                names |= set(doc.get("data") or {}) | set(doc.get("stringData") or {})
    else:
        names = set(compose()["x-app"]["environment"])
    known = settings_env() | LIBRARY_ENV | CONTRACT_ENV
    assert names - known == set(), "set in the manifests but read by nothing"
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ARTIFACT_SIGNING_KEY"} <= names


def test_the_dockerfile_builds_the_editor_and_runs_as_a_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "npm run build" in dockerfile and "COPY --from=frontend" in dockerfile
    assert re.search(r"^USER \w+", dockerfile, re.M)
    cmd = re.search(r"^CMD (.+)$", dockerfile, re.M).group(1)
    assert shlex.split(cmd.strip("[]").replace(",", " "))[0].strip('"') == "gunicorn"

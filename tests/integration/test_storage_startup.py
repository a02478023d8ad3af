"""An artifact store that cannot be used stops every process as it starts, saying why.

Real processes: a Celery worker, beat, the WSGI and serving apps, and
``runstack``, each pointed at an S3 endpoint where nothing listens (or at a
bucket that does not exist). None of them gets as far as taking a run.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import ROOT, S3_CREDENTIALS, start_beat, start_worker, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MESSAGE = "cannot reach the artifact store s3://artifacts/team at http://127.0.0.1:"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unreachable(artifact_root) -> dict[str, str]:
    return {
        **worker_env(artifact_root), **S3_CREDENTIALS, "PYTHONPATH": str(ROOT),
        "ARTIFACT_STORAGE": "s3://artifacts/team", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{_closed_port()}",
    }


def test_a_worker_with_an_unreachable_store_exits_at_start_naming_the_store(tmp_path, artifact_root, unreachable):
    with pytest.raises(RuntimeError, match="exited early") as failure:
        start_worker(tmp_path, artifact_root, name="no-store", concurrency=1, env=unreachable)
    assert MESSAGE in str(failure.value)
    assert "ARTIFACT_STORAGE, AWS_ENDPOINT_URL" in str(failure.value)


def test_beat_with_an_unreachable_store_exits_at_start(tmp_path, artifact_root, unreachable):
    with pytest.raises(RuntimeError, match="did not start") as failure:
        start_beat(tmp_path, artifact_root, env=unreachable)
    assert MESSAGE in str(failure.value)


@pytest.mark.parametrize("module", ["mlops_studio.wsgi", "mlops_studio.asgi", "pipelines.serving.asgi"])
def test_the_web_and_serving_apps_refuse_to_load_with_an_unreachable_store(module, unreachable):
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, env=unreachable,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and MESSAGE in done.stderr


def test_runstack_refuses_to_start_anything_with_an_unreachable_store(unreachable):
    done = subprocess.run([sys.executable, "manage.py", "runstack", "--port", "8102"], cwd=ROOT, env=unreachable,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert MESSAGE in done.stderr and "gunicorn" not in done.stdout + done.stderr


def test_a_missing_bucket_is_named(s3_server, unreachable):
    env = {**unreachable, "ARTIFACT_STORAGE": "s3://no-such-bucket/x", "AWS_ENDPOINT_URL": s3_server}
    done = subprocess.run([sys.executable, "-c", "import mlops_studio.wsgi"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "s3://no-such-bucket/x" in done.stderr and "404" in done.stderr


def test_a_storage_url_that_is_not_s3_is_refused_when_the_settings_load(unreachable):
    env = {**unreachable, "ARTIFACT_STORAGE": "ftp://host/dir"}
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "ARTIFACT_STORAGE must look like s3://bucket/prefix" in done.stderr

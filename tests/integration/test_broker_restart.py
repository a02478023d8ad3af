"""A private redis-server restarted (losing everything) mid-run: every run still ends."""

import shutil
import socket
import subprocess
import time

import pytest

from pipelines.demo import breast_cancer_graph
from tests.conftest import start_worker, stop_worker, wait_for_run
from tests.integration.test_engine import _pipeline, _start, slow_graph
from tests.processes import die_with_parent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_server(port: int, workdir) -> subprocess.Popen:
    proc = subprocess.Popen(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


@pytest.fixture
def private_broker(settings, tmp_path):
    """Point this process's Celery app at a private Redis; restore afterwards."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    from mlops_studio.celery import app

    port = _free_port()
    server = _redis_server(port, tmp_path)
    url = f"redis://127.0.0.1:{port}/0"
    old = app.conf.broker_url

    def use(broker_url):
        app.conf.broker_url = broker_url
        app._pool = None
        app.amqp._producer_pool = None

    use(url)
    settings.REDIS_URL = url
    state = {"server": server, "port": port, "url": url, "dir": tmp_path}
    yield state
    use(old)
    state["server"].terminate()
    state["server"].wait()


def test_runs_survive_a_broker_restart_that_loses_every_message(
    owner_api, private_broker, artifact_root, tmp_path, settings
):
    from pipelines.services.steps import steps_sweep_stale

    worker = start_worker(tmp_path, artifact_root, name="restart", concurrency=1)
    try:
        slow = _pipeline(owner_api, slow_graph(1500), name="slow")
        quick = _pipeline(owner_api, breast_cancer_graph(), name="quick")
        run_ids = [_start(owner_api, slow["id"], use_cache=False)] + [
            _start(owner_api, quick["id"], use_cache=False) for _ in range(3)
        ]
        time.sleep(1.5)  # the slow run is training; the others wait in the queue

        private_broker["server"].terminate()
        private_broker["server"].wait()
        time.sleep(1)
        private_broker["server"] = _redis_server(private_broker["port"], private_broker["dir"])

        # Celery beat would run the sweeper every 30 s; here it runs every second
        # and treats steps queued for over 3 s as lost.
        settings.STEP_REQUEUE_AFTER = 3
        deadline = time.monotonic() + 180
        finals = {}
        while time.monotonic() < deadline and len(finals) < len(run_ids):
            steps_sweep_stale()
            for run_id in run_ids:
                status = owner_api.get(f"/api/runs/{run_id}/").json()["status"]
                if status in ("succeeded", "failed", "cancelled"):
                    finals[run_id] = status
            time.sleep(1)
    finally:
        stop_worker(worker)

    assert finals == {run_id: "succeeded" for run_id in run_ids}
    assert wait_for_run(owner_api, run_ids[0])["status"] == "succeeded"

"""The ASGI path checks the serving stamp on the event loop (one Redis GET): a due check
answers from memory without a worker thread; a stamp that moved still reaches the
database; without a reachable Redis the thread path checks it as before."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from pipelines.serving import asgi, state
from pipelines.serving import handler as serving_handler
from pipelines.serving.state import caches_clear
from tests.integration.serving_factories import ROW, asgi_request, deploy_with_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    monkeypatch.setattr(serving_handler, "LOG_PREDICTIONS", False)
    caches_clear()
    yield
    caches_clear()


@pytest.fixture
def threads(monkeypatch) -> list[str]:
    """Names of the deployments whose requests took the worker-thread path."""
    taken: list[str] = []
    real = asgi._prepare_in_thread

    def counted(name, authorization):
        taken.append(name)
        return real(name, authorization)

    monkeypatch.setattr(asgi, "_prepare_in_thread", counted)
    return taken


def _predict(key: str) -> tuple[int, dict]:
    status, body, _ = asgi_request(
        "POST", "/api/deployments/acme/predict", headers={"Authorization": f"Bearer {key}"},
        body=json.dumps({"instances": [ROW]}).encode(),
    )
    return status, body


def test_a_due_stamp_check_answers_from_memory_without_a_thread(owner, owner_api, threads):
    key = deploy_with_key(owner_api, owner, "acme")
    assert _predict(key)[0] == 200  # the first request loads the deployment in a thread

    state._stamp_checked = 0.0  # the check is due
    status, _ = _predict(key)

    assert status == 200
    assert threads == ["acme"]
    assert not state.stamp_due()


def test_a_stamp_moved_by_another_process_is_seen_on_the_loop(owner, owner_api, threads):
    key = deploy_with_key(owner_api, owner, "acme")
    assert _predict(key)[0] == 200
    cached = state._served["acme"]
    key_id = owner_api.get("/api/deployments/acme/keys/").json()[0]["id"]

    assert owner_api.delete(f"/api/deployments/acme/keys/{key_id}/").status_code == 204
    state._served["acme"] = cached  # another process still holds the key…
    state._stamp_checked = 0.0  # …until its next stamp check
    state._stamp_value = "stale"
    status, body = _predict(key)

    assert status == 401, body
    assert threads == ["acme", "acme"]


def test_without_a_reachable_redis_the_stamp_is_checked_in_a_thread(owner, owner_api, threads, monkeypatch):
    key = deploy_with_key(owner_api, owner, "acme")
    assert _predict(key)[0] == 200

    # The loop's client is made per loop from the setting (each test request runs its
    # own loop); nothing listens on port 1. The thread's client is the one already made.
    monkeypatch.setattr(settings, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(asgi.loop_stamp, "_down_until", 0.0)
    state._stamp_checked = 0.0
    status, _ = _predict(key)

    assert status == 200
    assert threads == ["acme", "acme"]
    assert not state.stamp_due()

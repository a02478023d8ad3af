"""/healthz and /readyz: answered for probes from any host, without login; readiness
checks the database and Redis for real."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@override_settings(ALLOWED_HOSTS=["studio.example.com"], SECURE_SSL_REDIRECT=True)
def test_probes_answer_a_pod_ip_over_plain_http_without_login():
    client = Client(HTTP_HOST="10.1.2.3:8000")
    live = client.get("/healthz")
    assert live.status_code == 200 and live.json() == {"live": True}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.content
    assert ready.json() == {"ready": True, "checks": {"database": "ok", "broker": "ok"}}
    # everything else still goes through the host check
    assert client.get("/api/pipelines/").status_code == 400


def test_readiness_is_503_naming_the_broker_when_redis_is_unreachable(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("unreachable")
    assert response.json()["checks"]["database"] == "ok"


def test_probes_take_only_get():
    assert Client().post("/healthz").status_code == 405

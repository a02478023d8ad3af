"""Brute force on the sign-in endpoints (issue 14, item 5).

Every test uses its own usernames and client addresses (TEST-NET ranges), so the
counters in the shared Redis cache never leak from one test into another; the
cache key prefix is per test session (mlops_studio.settings_test).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token/"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LOGIN_THROTTLE_USER = 5
    settings.LOGIN_THROTTLE_IP = 20
    settings.LOGIN_THROTTLE_WINDOW = 300
    return settings


def token_attempt(client: Client, username: str, password: str, ip: str):
    return client.post(
        TOKEN_URL, {"username": username, "password": password},
        content_type="application/json", REMOTE_ADDR=ip,
    )


def login_attempt(client: Client, username: str, password: str, ip: str):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_a_hundred_wrong_passwords_on_the_token_endpoint_get_429_after_five(make_user, client):
    make_user("victim-token", password="right-pass-1")
    statuses = [token_attempt(client, "victim-token", f"guess-{i}", "203.0.113.10").status_code for i in range(100)]
    assert statuses[:5] == [400] * 5
    assert statuses[5:] == [429] * 95

    refused = token_attempt(client, "victim-token", "guess-x", "203.0.113.10")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 300
    assert "too many failed sign-in attempts" in refused.json()["detail"]
    # Locked means locked: even the right password waits for the window to end.
    assert token_attempt(client, "victim-token", "right-pass-1", "203.0.113.10").status_code == 429


def test_another_user_signs_in_with_the_right_password_from_another_address_during_an_attack(
    make_user, client
):
    make_user("victim-other", password="right-pass-1")
    make_user("bystander", password="right-pass-2")
    for i in range(100):
        token_attempt(client, "victim-other", f"guess-{i}", "203.0.113.11")
    response = token_attempt(client, "bystander", "right-pass-2", "198.51.100.11")
    assert response.status_code == 200
    assert response.json()["token"]


def test_one_address_guessing_many_usernames_is_stopped_at_the_address_limit(make_user, client):
    statuses = [token_attempt(client, f"nobody-{i}", "guess", "203.0.113.12").status_code for i in range(25)]
    assert statuses[:20] == [400] * 20
    assert statuses[20:] == [429] * 5
    # The limit is per address: the same usernames from elsewhere are still answered.
    assert token_attempt(client, "nobody-21", "guess", "198.51.100.12").status_code == 400


def test_successes_are_not_counted_and_reset_the_username_counter(make_user, client):
    make_user("forgetful", password="right-pass-1")
    for i in range(4):
        assert token_attempt(client, "forgetful", f"typo-{i}", "203.0.113.13").status_code == 400
    for _ in range(10):
        assert token_attempt(client, "forgetful", "right-pass-1", "203.0.113.13").status_code == 200
    for i in range(4):
        assert token_attempt(client, "forgetful", f"typo-again-{i}", "203.0.113.13").status_code == 400
    assert token_attempt(client, "forgetful", "right-pass-1", "203.0.113.13").status_code == 200


def test_thirty_wrong_logins_on_the_login_page_get_a_throttled_message(make_user, client):
    make_user("victim-page", password="right-pass-1")
    responses = [login_attempt(client, "victim-page", f"guess-{i}", "203.0.113.14") for i in range(30)]
    assert [r.status_code for r in responses[:5]] == [200] * 5
    assert "didn&#x27;t match" in responses[0].content.decode()
    assert [r.status_code for r in responses[5:]] == [429] * 25
    last = responses[-1]
    assert 0 < int(last["Retry-After"]) <= 300
    assert "Too many failed sign-in attempts. Try again in 5 minutes." in last.content.decode()
    # The right password is refused too while the username is locked: no session.
    locked = login_attempt(client, "victim-page", "right-pass-1", "203.0.113.14")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_login_page_still_signs_in_other_users_during_an_attack(make_user, client):
    make_user("victim-page-2", password="right-pass-1")
    make_user("bystander-page", password="right-pass-2")
    for i in range(30):
        login_attempt(client, "victim-page-2", f"guess-{i}", "203.0.113.15")
    response = login_attempt(Client(), "bystander-page", "right-pass-2", "198.51.100.15")
    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_REDIRECT_URL


def test_the_admin_login_is_limited_by_the_same_counters(django_user_model, client):
    django_user_model.objects.create_superuser("root-admin", "root@example.com", "right-pass-1")
    for i in range(5):
        token_attempt(client, "root-admin", f"guess-{i}", "203.0.113.16")
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "root-admin", "password": "right-pass-1", "next": "/admin/"},
        REMOTE_ADDR="203.0.113.16",
    )
    assert response.status_code == 200  # the form again, not the redirect into the admin
    assert "_auth_user_id" not in client.session


def test_limits_set_to_zero_are_off(make_user, client, limits):
    limits.LOGIN_THROTTLE_USER = 0
    limits.LOGIN_THROTTLE_IP = 0
    make_user("unlimited", password="right-pass-1")
    statuses = {token_attempt(client, "unlimited", f"guess-{i}", "203.0.113.17").status_code for i in range(30)}
    assert statuses == {400}
    assert token_attempt(client, "unlimited", "right-pass-1", "203.0.113.17").status_code == 200


def test_failures_counted_by_another_process_lock_the_username_here(make_user, client):
    """The counters live in Redis, so every web process sees the same ones."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL: without it the cache is per process")
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    make_user("victim-remote", password="right-pass-1")
    script = (
        "from pipelines.services.login_throttle import login_failure_record\n"
        "for _ in range(5):\n"
        "    login_failure_record(username='victim-remote', ip='203.0.113.18')\n"
    )
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL, "DJANGO_SETTINGS_MODULE": "mlops_studio.settings_test"}
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True,
        capture_output=True, timeout=60,
    )
    response = token_attempt(client, "victim-remote", "right-pass-1", "198.51.100.18")
    assert response.status_code == 429

"""Small pieces of the security settings that need no process of their own."""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from mlops_studio.settings import _proxy_ssl_header
from pipelines.services.login_throttle import (
    client_ip,
    login_failure_record,
    login_success_record,
    login_throttle_wait,
)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("X-Forwarded-Proto=https", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("HTTP_X_FORWARDED_PROTO=https", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Proto", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Ssl=on", ("HTTP_X_FORWARDED_SSL", "on")),
        ("", None),
    ],
)
def test_the_proxy_ssl_header_variable_becomes_djangos_setting(value, expected):
    assert _proxy_ssl_header(value) == expected


def test_a_proxy_ssl_header_without_a_name_is_refused_with_the_expected_form():
    with pytest.raises(ImproperlyConfigured, match="X-Forwarded-Proto=https"):
        _proxy_ssl_header("=https")


def test_the_client_address_ignores_x_forwarded_for_unless_proxies_are_declared(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    settings.NUM_PROXIES = 0
    assert client_ip(request) == "10.0.0.2"
    settings.NUM_PROXIES = 1
    assert client_ip(request) == "203.0.113.9"  # the hop our proxy added, not the client's claim
    settings.NUM_PROXIES = 5
    assert client_ip(request) == "6.6.6.6"


def test_the_sign_in_limits_fail_open_when_the_cache_is_unreachable(settings, caplog):
    with socket.socket() as s:  # a port nothing listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }
    settings.LOGIN_THROTTLE_USER, settings.LOGIN_THROTTLE_IP, settings.LOGIN_THROTTLE_WINDOW = 1, 1, 300
    for _ in range(3):
        login_failure_record(username="someone", ip="203.0.113.30")
    assert login_throttle_wait(username="someone", ip="203.0.113.30") == 0
    login_success_record(username="someone")
    assert "the cache is unreachable" in caplog.text

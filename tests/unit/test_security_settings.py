"""Small pieces of the security settings that need no process of their own."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from mlops_studio.settings import _proxy_ssl_header
from pipelines.services.login_throttle import client_ip


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

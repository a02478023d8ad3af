"""The authentication backend: Django's ModelBackend plus the failed sign-in limits.

Every password check in the app (``POST /api/auth/token/``, ``/accounts/login/``,
``/admin/login/``, ``Client.login`` in tests) calls ``authenticate()``, so limiting
here covers them all. The token API and the login page also check the limit
before calling ``authenticate()`` so that they can answer 429 with Retry-After;
other callers (the admin) just see a failed sign-in.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .services.login_throttle import (
    client_ip,
    login_failure_record,
    login_success_record,
    login_throttle_wait,
)


class LoginThrottled(PermissionDenied):
    """Too many failed sign-ins; ``wait`` is the number of seconds left."""

    def __init__(self, wait: int):
        super().__init__(f"too many failed sign-in attempts; try again in {wait} seconds")
        self.wait = wait


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        ip = client_ip(request) if request is not None else None
        wait = login_throttle_wait(username=username, ip=ip)
        if wait:
            # PermissionDenied makes django.contrib.auth.authenticate() stop and
            # return None without trying the password.
            raise LoginThrottled(wait)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failure_record(username=username, ip=ip)
        else:
            login_success_record(username=username)
        return user

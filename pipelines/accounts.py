"""Account pages that differ from django.contrib.auth's: sign-in limits and password reset.

- ``/accounts/login/`` refuses a sign-in while its username or address is over the
  failed-attempt limit (pipelines.services.login_throttle): 429, ``Retry-After``
  and a form error saying when to try again.
- ``/accounts/password_reset/`` exists only when email is configured
  (``EMAIL_ENABLED``); otherwise it answers 404 with a page saying so, and the
  login page shows no reset link. With email on, a mail server that cannot be
  reached gives a 503 with an error on the form instead of "we've emailed you".
"""

from __future__ import annotations

import logging
import smtplib

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.mail import get_connection
from django.shortcuts import render

from .services.login_throttle import client_ip, login_throttle_wait

logger = logging.getLogger(__name__)


def _wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class ThrottledAuthenticationForm(AuthenticationForm):
    """AuthenticationForm that checks the failed sign-in limit before the password."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password didn't match. Please try again.",
        "throttled": "Too many failed sign-in attempts. Try again in %(wait)s.",
    }

    retry_after: int = 0

    def clean(self):
        username = self.cleaned_data.get("username")
        if username and self.cleaned_data.get("password"):
            self.retry_after = login_throttle_wait(username=username, ip=client_ip(self.request))
            if self.retry_after:
                raise forms.ValidationError(
                    self.error_messages["throttled"],
                    code="throttled",
                    params={"wait": _wait_text(self.retry_after)},
                )
        return super().clean()


class LoginView(auth_views.LoginView):
    authentication_form = ThrottledAuthenticationForm

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "password_reset_enabled": settings.EMAIL_ENABLED}

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.retry_after:
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset view, refused when email is off and honest when mail fails."""

    template_name = "registration/password_reset_form.html"

    def dispatch(self, request, *args, **kwargs):
        if not settings.EMAIL_ENABLED:
            return render(request, "registration/password_reset_unavailable.html", status=404)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        # Open the mail connection first, so that whether the address belongs to
        # an account does not change the answer when the mail server is down.
        try:
            connection = get_connection(fail_silently=False)
            connection.open()
            connection.close()
            return super().form_valid(form)
        except (OSError, smtplib.SMTPException):
            logger.exception("password reset: the email could not be sent")
            form.add_error(
                None,
                "The reset email could not be sent: the mail server is not reachable. "
                "Try again later, or ask an administrator to reset your password.",
            )
            response = self.form_invalid(form)
            response.status_code = 503
            return response

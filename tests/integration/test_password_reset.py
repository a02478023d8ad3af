"""Password reset tells the truth about email (issue 14, item 8)."""

from __future__ import annotations

import socket

import pytest
from django.core import mail

pytestmark = pytest.mark.django_db

RESET_URL = "/accounts/password_reset/"


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user("resetter", "resetter@example.com", "old-pass-123")


def closed_port() -> int:
    """A local TCP port nothing listens on (connecting to it is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_without_email_the_login_page_offers_no_reset_link(client, settings):
    settings.EMAIL_ENABLED = False
    html = client.get("/accounts/login/").content.decode()
    assert RESET_URL not in html
    assert "Forgot your password?" not in html


def test_without_email_the_reset_page_says_email_is_not_configured_instead_of_sent(client, settings, member):
    settings.EMAIL_ENABLED = False
    for response in (client.get(RESET_URL), client.post(RESET_URL, {"email": member.email})):
        assert response.status_code == 404
        assert "no email configured" in response.content.decode()
    assert mail.outbox == []


def test_with_email_the_login_page_links_to_the_reset_page(client, settings):
    settings.EMAIL_ENABLED = True
    assert RESET_URL in client.get("/accounts/login/").content.decode()


def test_with_email_a_reset_request_sends_the_link(client, settings, member):
    settings.EMAIL_ENABLED = True  # pytest-django's locmem backend collects the mail
    response = client.post(RESET_URL, {"email": member.email})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    assert "/accounts/reset/" in mail.outbox[0].body


def test_a_refused_mail_connection_is_an_error_on_the_form_not_sent(client, settings, member):
    settings.EMAIL_ENABLED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    for email in (member.email, "nobody@example.com"):  # the same answer for unknown addresses
        response = client.post(RESET_URL, {"email": email})
        assert response.status_code == 503
        assert "could not be sent" in response.content.decode()


def test_the_emailed_link_sets_a_new_password(client, settings, member):
    settings.EMAIL_ENABLED = True
    client.post(RESET_URL, {"email": member.email})
    link = next(word for word in mail.outbox[0].body.split() if "/accounts/reset/" in word)
    form = client.get(link.split("testserver", 1)[1], follow=True)
    assert "Set a new password" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "new-pass-456", "new_password2": "new-pass-456"})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    assert "Your password is set" in client.get(done["Location"]).content.decode()
    member.refresh_from_db()
    assert member.check_password("new-pass-456")

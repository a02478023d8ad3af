"""Alert channels: checking targets, and sending one delivery (email or webhook).

Webhooks POST ``{"alert", "deployment", "signal", "value", "threshold", "window",
"status"}`` (plus ``detail`` and ``url``) as JSON, signed with the rule's secret:
``X-MLOps-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>``.
``X-MLOps-Delivery`` carries the delivery id (the same on every retry, so a
receiver can drop duplicates: delivery is at least once).

A webhook target must be http(s). Loopback and private networks are allowed
(self-hosted receivers); link-local (169.254.0.0/16, fe80::/10), multicast,
unspecified and cloud-metadata addresses are refused when the rule is saved and
again when sending — DNS may answer differently by then, so the sender resolves
the name once, checks every address and connects to the checked one.

``alert_delivery_send`` is the body of the Celery task: it answers how many
seconds to wait before the next attempt for a transient failure (connection
refused, timeout, 408/429/5xx, SMTP errors), or None when the delivery is done
(sent, or failed permanently: refused target, another 4xx, out of attempts).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db.models import F
from django.utils import timezone

from ..errors import ApplicationError
from ..models import AlertDelivery, DeliveryKind, DeliveryStatus

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-MLOps-Signature"
METADATA_HOSTS = {"metadata.google.internal", "metadata", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
METADATA_ADDRESSES = {
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
}
TRANSIENT_STATUS = {408, 425, 429}


class TargetRefused(ApplicationError):
    """A webhook target that must never be called."""


# --- secrets and signatures ---------------------------------------------------------


def webhook_secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes) -> str:
    """The ``X-MLOps-Signature`` value of ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- targets ----------------------------------------------------------------------------


def _address_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_multicast or address.is_unspecified:
        return f"{address} is not a unicast address"
    return None


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(info[4][0].split("%", 1)[0] for info in infos))


def webhook_target_check(url: str, *, field: str, resolve: bool = True) -> list[str]:
    """Refuse a target that is not http(s) or points at a forbidden address.

    Answers the addresses the host resolves to (all checked), or [] when it does not
    resolve now (accepted when saving: checked again when sending).
    """
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused(f"the webhook URL is not valid: {exc}", field=field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("a webhook target is an http:// or https:// URL with a host", field=field)
    host = parts.hostname.rstrip(".").lower()
    if host in METADATA_HOSTS:
        raise TargetRefused(f"{host} is a cloud metadata address; choose another webhook target", field=field)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if not resolve:
            return []
        try:
            addresses = _resolve(host, port)
        except (OSError, UnicodeError):
            return []
    for address in addresses:
        reason = _address_refusal(ipaddress.ip_address(address))
        if reason:
            raise TargetRefused(f"the webhook host {host} resolves to {reason}; it is not allowed", field=field)
    return addresses


def channel_check(channel: dict[str, Any], *, field: str) -> dict[str, str]:
    """A channel as stored: ``{"kind", "target"}`` with the target checked for its kind."""
    kind, target = channel["kind"], channel["target"].strip()
    if kind == DeliveryKind.EMAIL:
        try:
            validate_email(target)
        except ValidationError:
            raise ApplicationError(f"{target!r} is not an email address", field=f"{field}.target") from None
    else:
        webhook_target_check(target, field=f"{field}.target")
    return {"kind": kind, "target": target}


# --- sending ---------------------------------------------------------------------------


def webhook_body(delivery: AlertDelivery) -> bytes:
    alert = delivery.alert
    payload = {
        "alert": alert.pk,
        "deployment": alert.deployment.name,
        "signal": alert.signal,
        "value": alert.value,
        "threshold": alert.threshold,
        "window": alert.window,
        "status": delivery.event,
        "detail": alert.detail,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


class _Transient(Exception):
    pass


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST to ``url`` on an address checked just now (no redirects); the status code."""
    import urllib3

    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    addresses = webhook_target_check(url, field="target")
    if not addresses:
        raise _Transient(f"{parts.hostname} does not resolve")
    host = parts.hostname
    headers = {**headers, "Host": parts.netloc.rsplit("@", 1)[-1]}
    timeout = urllib3.Timeout(connect=5, read=settings.ALERT_WEBHOOK_TIMEOUT)
    kwargs: dict[str, Any] = {"host": addresses[0], "port": port, "timeout": timeout, "retries": False}
    if https:
        pool: Any = urllib3.HTTPSConnectionPool(
            **kwargs, server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED"
        )
    else:
        pool = urllib3.HTTPConnectionPool(**kwargs)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen(
            "POST", path, body=body, headers=headers, redirect=False, retries=False,
            assert_same_host=False, preload_content=True,
        )
    except urllib3.exceptions.HTTPError as exc:
        raise _Transient(f"{type(exc).__name__}: {exc}") from None
    finally:
        pool.close()
    return response.status


def _send_webhook(delivery: AlertDelivery) -> int:
    body = webhook_body(delivery)
    from .connections import password_decrypt

    secret = password_decrypt(delivery.alert.rule.webhook_secret)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "MLOps-Studio-Alerts/1",
        "X-MLOps-Delivery": str(delivery.pk),
        "X-MLOps-Event": delivery.event,
        SIGNATURE_HEADER: signature(secret, body),
    }
    return _post(delivery.target, body, headers)


def _send_email(delivery: AlertDelivery) -> None:
    if not settings.EMAIL_ENABLED:
        raise ApplicationError("email is not configured on this server (set EMAIL_BACKEND or EMAIL_HOST)")
    alert = delivery.alert
    state = "RESOLVED" if delivery.event == "resolved" else "FIRING"
    subject = f"[MLOps Studio] {state}: {alert.signal} on {alert.deployment.name}"
    compare = "<" if alert.signal == "performance" else "≥"
    lines = [
        f"Alert #{alert.pk} on deployment {alert.deployment.name} is {delivery.event}.",
        "",
        f"Signal:    {alert.signal} ({alert.detail})" if alert.detail else f"Signal:    {alert.signal}",
        f"Value:     {alert.value:.4g} (fires when {compare} {alert.threshold:g})",
        f"Window:    {alert.window.get('start')} – {alert.window.get('end')}",
        "",
        "Acknowledge it in the alerts inbox (/alerts/) of MLOps Studio.",
    ]
    try:
        send_mail(subject, "\n".join(lines), settings.DEFAULT_FROM_EMAIL, [delivery.target])
    except (OSError, ConnectionError) as exc:  # smtplib's errors are OSErrors
        raise _Transient(f"{type(exc).__name__}: {exc}") from None


def _backoff(attempt: int) -> float:
    return min(settings.ALERT_DELIVERY_BACKOFF_SECONDS * 2 ** (attempt - 1), 3600.0)


def alert_delivery_send(*, delivery_id: int) -> float | None:
    """Make one attempt at a pending delivery; the seconds until the next one, or None.

    A delivery that is not pending (sent, failed, deleted) is skipped, so a
    duplicate task message does nothing.
    """
    claimed = AlertDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
        attempts=F("attempts") + 1
    )
    if not claimed:
        logger.info("delivery %s is not pending; skipped", delivery_id)
        return None
    delivery = AlertDelivery.objects.select_related("alert__deployment", "alert__rule").get(pk=delivery_id)
    code: int | None = None
    try:
        if delivery.kind == DeliveryKind.WEBHOOK:
            code = _send_webhook(delivery)
            if code in TRANSIENT_STATUS or code >= 500:
                raise _Transient(f"the receiver answered {code}")
            if not 200 <= code < 300:
                return _finish(delivery, DeliveryStatus.FAILED, code, f"the receiver answered {code}")
        else:
            _send_email(delivery)
    except ApplicationError as exc:  # a refused target or an undecryptable secret: permanent
        return _finish(delivery, DeliveryStatus.FAILED, code, exc.message)
    except _Transient as exc:
        if delivery.attempts >= settings.ALERT_DELIVERY_MAX_ATTEMPTS:
            return _finish(delivery, DeliveryStatus.FAILED, code, f"gave up after {delivery.attempts} attempts: {exc}")
        AlertDelivery.objects.filter(pk=delivery.pk).update(response_code=code, error=str(exc)[:500])
        return _backoff(delivery.attempts)
    return _finish(delivery, DeliveryStatus.SENT, code, "")


def _finish(delivery: AlertDelivery, status: str, code: int | None, error: str) -> None:
    AlertDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
        status=status, response_code=code, error=error[:500],
        sent_at=timezone.now() if status == DeliveryStatus.SENT else None,
    )
    if status == DeliveryStatus.FAILED:
        logger.warning("alert delivery %s failed: %s", delivery.pk, error)
    return None

"""Saved database connections: create (tested once), delete, resolve by name, open for a run.

Passwords are encrypted at rest with Fernet under a key derived by HKDF from
``settings.CONNECTION_ENCRYPTION_KEY`` (default: ``SECRET_KEY``). Nothing here
returns a password to a caller that answers HTTP; only ``connection_opener``,
which the worker hands to the ``dataset.sql`` block through its step context,
decrypts one, and only for a connection of the run's own workspace.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import socket
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from ..blocks.base import BlockError
from ..blocks.sql_source import open_readonly
from ..errors import ApplicationError, Conflict, NotFound
from ..models import Connection, ConnectionKind, Workspace

HKDF_INFO = b"mlops-studio connection passwords v1"


@functools.cache
def _fernet(material: str):
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def password_encrypt(password: str) -> str:
    """The Fernet token (text) of ``password``; empty for no password."""
    if not password:
        return ""
    return _fernet(settings.CONNECTION_ENCRYPTION_KEY).encrypt(password.encode()).decode()


def password_decrypt(token: str) -> str:
    """The password of a Fernet token; raises ApplicationError if the key changed since it was saved."""
    if not token:
        return ""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(settings.CONNECTION_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ApplicationError(
            "the connection's password cannot be decrypted (CONNECTION_ENCRYPTION_KEY or SECRET_KEY "
            "changed since it was saved); delete the connection and save it again",
            details={"field": "password"},
        ) from None


def _check_host(host: str) -> None:
    """Refuse link-local and cloud-metadata addresses; loopback and private networks are allowed
    (the database is usually self-hosted next to the app)."""
    if host.lower().rstrip(".") in ("metadata.google.internal", "metadata"):
        raise ApplicationError("host: cloud metadata addresses are not allowed", details={"field": "host"})
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return  # unresolvable: the connection test reports it with the driver's words
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if address.is_link_local or address.is_multicast or address.is_unspecified:
            raise ApplicationError(
                f"host: {host} resolves to {address}, a link-local, multicast or unspecified address",
                details={"field": "host"},
            )


def _credentials(connection: Connection, password: str) -> dict[str, Any]:
    return {
        "host": connection.host,
        "port": connection.port,
        "database": connection.database,
        "user": connection.user,
        "password": password,
    }


def connection_test(*, connection: Connection, password: str) -> None:
    """Connect once, read-only, and run ``SELECT 1``; ApplicationError(400) with the driver's message otherwise."""
    try:
        conn = open_readonly(_credentials(connection, password), timeout_seconds=10)
    except BlockError as exc:
        raise ApplicationError(
            f"the connection test failed: {exc.message}", details={"field": "connection"}
        ) from None
    try:
        conn.execute("SELECT 1")
    finally:
        conn.close()


def connection_create(
    *,
    workspace: Workspace,
    user,
    name: str,
    host: str,
    port: int,
    database: str,
    db_user: str,
    password: str,
    kind: str = ConnectionKind.POSTGRESQL,
    test: bool = True,
) -> Connection:
    """Save a connection after one successful login (``test``); the password is stored encrypted.

    A name the workspace already uses is a 409.
    """
    _check_host(host)
    connection = Connection(
        workspace=workspace, name=name, kind=kind, host=host, port=port, database=database,
        user=db_user, created_by=user,
    )
    if Connection.objects.filter(workspace=workspace, name=name).exists():
        raise Conflict(f"this workspace already has a connection named {name!r}", details={"field": "name"})
    if test:
        connection_test(connection=connection, password=password)
    connection.password_encrypted = password_encrypt(password)
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError:
        raise Conflict(
            f"this workspace already has a connection named {name!r}", details={"field": "name"}
        ) from None
    return connection


def connection_delete(*, connection: Connection) -> None:
    """Delete a saved connection. Runs already compiled against it fail their ``dataset.sql`` step."""
    connection.delete()


def connection_resolve(*, workspace: Workspace, name: Any) -> Connection:
    """The workspace's connection called ``name``, or ApplicationError(field="connection")."""
    if not isinstance(name, str) or not name:
        raise ApplicationError("choose a saved connection", details={"field": "connection"})
    connection = Connection.objects.filter(workspace=workspace, name=name).first()
    if connection is None:
        raise NotFound(
            f"this workspace has no connection named {name!r}; save one under /api/connections/",
            details={"field": "connection"},
        )
    return connection


def connection_opener(*, workspace_id: int) -> Callable[[int], dict[str, Any]]:
    """The ``connection(id)`` callable a run's step context gives ``dataset.sql``.

    Bound to the run's workspace (read from the run row, not from params): an id
    that names another workspace's connection, or a deleted one, is refused
    with a BlockError as if it did not exist.
    """

    def connection(connection_id: int) -> dict[str, Any]:
        row = Connection.objects.filter(pk=connection_id, workspace_id=workspace_id).first()
        if row is None:
            raise BlockError(
                "the saved connection this run uses no longer exists in the workspace", param="connection"
            )
        try:
            password = password_decrypt(row.password_encrypted)
        except ApplicationError as exc:
            raise BlockError(exc.message, param="connection") from None
        return _credentials(row, password)

    return connection

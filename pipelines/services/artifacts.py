from __future__ import annotations

from functools import cache

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ..execution.artifacts import ArtifactStore, StoredArtifact
from ..models import Artifact


@cache
def artifact_store() -> ArtifactStore:
    return ArtifactStore(settings.ARTIFACT_ROOT, settings.ARTIFACT_SIGNING_KEY)


def artifacts_record(stored: list[StoredArtifact]) -> None:
    """Record artifact rows; writing the same content twice is a no-op.

    One statement (``bulk_create`` would wrap it in a transaction: three round
    trips on every step that finishes).
    """
    if not stored:
        return
    table = connection.ops.quote_name(Artifact._meta.db_table)
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(stored))
    now = timezone.now()
    params = [value for a in stored for value in (a.sha256, a.kind, a.size, now)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (sha256, kind, size, created_at) VALUES {rows} ON CONFLICT DO NOTHING",
            params,
        )


def worker_name() -> str:
    """host:pid — tells apart the processes of one worker and the machines of many."""
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"

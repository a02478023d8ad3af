from __future__ import annotations

from functools import cache

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ..execution.artifacts import ArtifactStore, StoredArtifact
from ..execution.storage import LocalCache, S3Bucket, StorageUnavailable
from ..models import Artifact
from ..worker_metrics import ARTIFACT_METER


@cache
def artifact_store() -> ArtifactStore:
    """The deployment's store: ``ARTIFACT_ROOT``, or the bucket ``ARTIFACT_STORAGE`` names
    (with this process's bounded cache in ``ARTIFACT_CACHE_DIR``)."""
    if not settings.ARTIFACT_STORAGE:
        return ArtifactStore(settings.ARTIFACT_ROOT, settings.ARTIFACT_SIGNING_KEY, meter=ARTIFACT_METER)
    bucket = S3Bucket.from_url(settings.ARTIFACT_STORAGE, endpoint_url=settings.AWS_ENDPOINT_URL)
    cache = LocalCache(settings.ARTIFACT_CACHE_DIR, settings.ARTIFACT_CACHE_MAX_MB << 20)
    return ArtifactStore(bucket, settings.ARTIFACT_SIGNING_KEY, cache=cache, meter=ARTIFACT_METER)


def artifact_store_check() -> None:
    """Fail at start, with the reason, when the artifact store cannot be used.

    Called by the web and serving processes as they load and by Celery workers
    and beat as they start (``mlops_studio.celery``): an unreachable bucket is
    told there, not at the first run. Raises ``ImproperlyConfigured``.
    """
    from django.core.exceptions import ImproperlyConfigured

    store = artifact_store()
    try:
        store.check()
    except StorageUnavailable as exc:
        raise ImproperlyConfigured(
            f"{exc}. Check ARTIFACT_STORAGE, AWS_ENDPOINT_URL and the AWS credentials "
            "(or unset ARTIFACT_STORAGE to use the local folder ARTIFACT_ROOT)."
        ) from exc


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

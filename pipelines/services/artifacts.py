from __future__ import annotations

from functools import cache

from django.conf import settings

from ..execution.artifacts import ArtifactStore, StoredArtifact
from ..models import Artifact


@cache
def artifact_store() -> ArtifactStore:
    return ArtifactStore(settings.ARTIFACT_ROOT, settings.ARTIFACT_SIGNING_KEY)


def artifacts_record(stored: list[StoredArtifact]) -> None:
    """Record artifact rows; writing the same content twice is a no-op."""
    Artifact.objects.bulk_create(
        [Artifact(sha256=a.sha256, kind=a.kind, size=a.size) for a in stored],
        ignore_conflicts=True,
    )


def worker_name() -> str:
    """host:pid — tells apart the processes of one worker and the machines of many."""
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"

"""What a serving process keeps in memory, and how it learns that it changed.

- ``Served``: a deployment resolved to its current model version, signature
  and active key hashes, cached per name.
- Models: loaded once per process through the artifact store (HMAC checked
  before unpickling) into a bounded LRU keyed by the artifact sha256, so a
  rollback to a model still in memory is instant.
- The *serving stamp*: a counter in Redis (``REDIS_URL``), bumped after every
  deploy, rollback and key change commits. Each process reads it at most every
  ``SERVING_STAMP_TTL`` seconds (default 0.25) and drops its cached
  deployments when it moved, so changes reach every process without a restart.
  Without Redis the stamp is the newest ``Deployment.updated_at`` (one cheap
  aggregate query per TTL).

Functions ending in ``_cached`` never do I/O: they return ``None`` when the
answer needs the database, so the ASGI fast path can call them on the event
loop and hand only the misses to a thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ApplicationError, NotFound, Unauthorized
from .coerce import Signature

logger = logging.getLogger(__name__)

STAMP_KEY = "mlops:serving:stamp"
STAMP_TTL = float(os.environ.get("SERVING_STAMP_TTL", "0.25"))
MODEL_CACHE_SIZE = int(os.environ.get("SERVING_MODEL_CACHE_SIZE", "8"))
TOKEN_TTL = float(os.environ.get("SERVING_TOKEN_TTL", "5"))
MAX_ROWS = int(os.environ.get("SERVING_MAX_BATCH_ROWS", "1000"))


@dataclass(frozen=True, slots=True)
class Served:
    deployment_id: int
    name: str
    workspace_id: int
    revision: int
    model_version_id: int
    model_name: str
    model_version: int
    artifact_sha256: str
    task: str
    classes: list | None
    raw_signature: dict
    signature: Signature
    key_hashes: frozenset[str]
    # Rollout (services.rollout): the alias this answers for, the canary split as
    # ((upper bound of the 0–99 bucket, variant), …) and the shadowed variant.
    alias: str = ""
    split: tuple = ()
    shadow: Served | None = None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# --- the stamp ------------------------------------------------------------------

_lock = threading.RLock()
_stamp_value: str | None = None
_stamp_checked = 0.0
_served: dict[str, Served] = {}
_tokens: dict[str, tuple[float, int | None, frozenset[int]]] = {}
_redis = None


def _redis_client():
    global _redis
    if _redis is None:
        from django.conf import settings

        url = getattr(settings, "REDIS_URL", "")
        if not url:
            return None
        import redis

        _redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return _redis


def stamp_from_redis(value: bytes | None) -> str:
    """The stamp as read from Redis (``GET STAMP_KEY``), in the form ``stamp_apply`` takes."""
    return "r" + (value.decode() if value else "0")


def _read_stamp() -> str:
    client = _redis_client()
    if client is not None:
        try:
            return stamp_from_redis(client.get(STAMP_KEY))
        except Exception:  # noqa: BLE001 - fall back to the database
            logger.warning("serving stamp: Redis unreachable, using the database")
    from django.db.models import Count, Max

    from ..models import Deployment, DeploymentKey

    d = Deployment.objects.aggregate(n=Count("id"), t=Max("updated_at"))
    k = DeploymentKey.objects.aggregate(n=Count("id"))
    return f"d{d['n']}:{d['t']}:{k['n']}"


def stamp_due() -> bool:
    return time.monotonic() - _stamp_checked >= STAMP_TTL


def stamp_refresh() -> None:
    """Read the stamp if it is due; drop cached deployments if it moved."""
    if stamp_due():
        stamp_apply(_read_stamp())


def stamp_apply(value: str) -> None:
    """Take a stamp just read: drop cached deployments if it moved; the next check is
    due in ``STAMP_TTL``. (The ASGI path reads it on the event loop: ``serving.stampcheck``.)"""
    global _stamp_value, _stamp_checked
    with _lock:
        if value != _stamp_value:
            _served.clear()
            _tokens.clear()
            _stamp_value = value
        _stamp_checked = time.monotonic()


def serving_stamp_bump() -> None:
    """Tell every serving process that deployments changed (call after commit)."""
    global _stamp_checked
    client = _redis_client()
    if client is not None:
        try:
            client.incr(STAMP_KEY)
        except Exception:  # noqa: BLE001
            logger.warning("serving stamp: could not bump it in Redis; processes notice within the DB fallback")
    with _lock:
        _served.clear()
        _tokens.clear()
        _stamp_checked = 0.0  # re-read on the next request in this process


# --- deployments ------------------------------------------------------------------


def served_cached(name: str) -> Served | None:
    if stamp_due():
        return None
    return _served.get(name)


def served_get(name: str) -> Served | None:
    """The deployment's current state, or None if there is no such deployment being served."""
    if "\x00" in name:
        return None  # no deployment is named so; PostgreSQL refuses NUL in a query
    stamp_refresh()
    entry = _served.get(name)
    if entry is not None:
        return entry
    from ..models import Deployment, DeploymentKey

    deployment = (
        Deployment.objects.select_related(
            "current_revision__model_version__registered_model"
        )
        .filter(name=name)
        .first()
    )
    if deployment is None or deployment.current_revision is None:
        return None
    revision = deployment.current_revision
    version = revision.model_version
    hashes = frozenset(
        DeploymentKey.objects.filter(deployment=deployment, revoked_at__isnull=True).values_list(
            "key_hash", flat=True
        )
    )
    entry = Served(
        deployment_id=deployment.pk,
        name=deployment.name,
        workspace_id=deployment.workspace_id,
        revision=revision.number,
        model_version_id=version.pk,
        model_name=version.registered_model.name,
        model_version=version.number,
        artifact_sha256=version.artifact_sha256,
        task=version.task,
        classes=version.classes,
        raw_signature=version.signature,
        signature=Signature(version.signature, max_rows=MAX_ROWS),
        key_hashes=hashes,
    )
    if deployment.model_id and deployment.traffic:
        entry = _with_rollout(entry, deployment)
    with _lock:
        _served[name] = entry
    return entry


def _with_rollout(entry: Served, deployment) -> Served:
    """``entry`` with its canary variants or shadow resolved from the model's aliases (one query)."""
    from ..models import ModelAlias

    traffic = deployment.traffic
    split = traffic.get("split") or {}
    wanted = [*split, *([traffic["shadow"]] if traffic.get("shadow") else [])]
    versions = {
        a.alias: a.model_version
        for a in ModelAlias.objects.select_related("model_version").filter(
            registered_model_id=deployment.model_id, alias__in=wanted
        )
    }
    entry = replace(entry, alias=deployment.alias)

    def variant(alias: str) -> Served:
        version = versions[alias]
        if alias == deployment.alias or version.pk == entry.model_version_id:
            return replace(entry, alias=alias)
        return replace(
            entry, alias=alias, model_version_id=version.pk, model_version=version.number,
            artifact_sha256=version.artifact_sha256, task=version.task, classes=version.classes,
            raw_signature=version.signature, signature=Signature(version.signature, max_rows=MAX_ROWS),
        )

    bounds, upper = [], 0
    for alias, percent in split.items():
        if alias in versions and percent > 0:
            upper += percent
            bounds.append((upper, variant(alias)))
    shadow = traffic.get("shadow")
    return replace(
        entry,
        split=tuple(bounds) if len(bounds) > 1 else (),
        shadow=variant(shadow) if shadow in versions else None,
    )


def bucket_of(request_id: str) -> int:
    """0–99 from a hash of the request id: the same id always lands in the same bucket."""
    return int.from_bytes(hashlib.blake2b(request_id.encode(), digest_size=8).digest(), "big") % 100


def route(served: Served, request_id: str) -> Served:
    """The variant of a canary split that answers ``request_id`` (``served`` itself without one)."""
    if not served.split:
        return served
    bucket = bucket_of(request_id)
    for upper, variant in served.split:
        if bucket < upper:
            return variant
    return served


def variants(served: Served) -> list[Served]:
    """Every other version a request to ``served`` may reach (canary sides, the shadow)."""
    out = [v for _, v in served.split]
    if served.shadow is not None:
        out.append(served.shadow)
    return out


# --- models -------------------------------------------------------------------------

_models: OrderedDict[str, Any] = OrderedDict()
_model_lock = threading.Lock()


def model_cached(sha256: str):
    model = _models.get(sha256)
    if model is not None:
        _models.move_to_end(sha256)
    return model


def model_get(sha256: str):
    """The fitted Pipeline for an artifact as a ``runner.Runnable``, loaded once per process
    (HMAC checked before unpickling)."""
    model = model_cached(sha256)
    if model is not None:
        return model
    from ..execution.artifacts import OBJECT, ArtifactError
    from ..services.artifacts import artifact_store

    with _model_lock:
        model = _models.get(sha256)
        if model is None:
            from .runner import runnable_from

            try:
                model = runnable_from(artifact_store().load(sha256, OBJECT))
            except ArtifactError as exc:
                logger.error("cannot load model %s: %s", sha256[:12], exc)
                raise ApplicationError(f"the model cannot be loaded: {exc}", status=503) from exc
            _models[sha256] = model
            while len(_models) > MODEL_CACHE_SIZE:
                _models.popitem(last=False)
    return model


def caches_clear() -> None:
    global _stamp_checked
    with _lock:
        _served.clear()
        _tokens.clear()
        _models.clear()
        _stamp_checked = 0.0
    from .explain import explainers_clear

    explainers_clear()


def serving_reset() -> None:
    """This process back to a cold start: the prediction log writer stopped with every log
    row it held written (the stream drained here too), then every cache emptied. Tests call
    it around each test so that none serves another's deployments or leaves it log rows."""
    from .logbuffer import prediction_log_writer_stop

    prediction_log_writer_stop()
    caches_clear()


# --- who is calling ------------------------------------------------------------------


def _scheme(authorization: str | None) -> tuple[str, str]:
    if not authorization:
        return "", ""
    scheme, _, value = authorization.strip().partition(" ")
    return scheme.lower(), value.strip()


def authorize_cached(served: Served, authorization: str | None) -> str | None:
    """'key' or 'token' if the caller may use this deployment without a database lookup."""
    scheme, value = _scheme(authorization)
    if scheme == "bearer" and key_hash(value) in served.key_hashes:
        return "key"
    if scheme == "token":
        hit = _tokens.get(value)
        if hit is not None and time.monotonic() - hit[0] < TOKEN_TTL and served.workspace_id in hit[2]:
            return "token"
    return None


NO_CREDENTIALS = (
    "authentication required: send 'Authorization: Bearer <deployment key>' "
    "or 'Authorization: Token <your API token>'"
)


def _caller(authorization: str | None, session_user) -> tuple[str, int | None, frozenset[int] | None]:
    """Who is calling, decided before the deployment's name is looked at, so that bad
    credentials answer 401 for every name — taken or not — and reveal nothing.

    Returns ``("key", deployment id, None)``, ``("token", None, workspace ids)`` or
    ``("session", None, None)``; raises ``Unauthorized`` for missing or bad credentials.
    """
    scheme, value = _scheme(authorization)
    if scheme == "bearer" and value:
        from ..models import DeploymentKey

        deployment_id = (
            DeploymentKey.objects.filter(key_hash=key_hash(value), revoked_at__isnull=True)
            .values_list("deployment_id", flat=True)
            .first()
        )
        if deployment_id is None:
            raise Unauthorized("the API key is not valid (revoked or mistyped)")
        return "key", deployment_id, None
    if scheme == "token" and value:
        # Always read: a cached token that already opens this deployment was taken by
        # authorize_cached, and a membership added since must not answer 404.
        from rest_framework.authtoken.models import Token

        from ..models import Membership

        token = None if "\x00" in value else Token.objects.select_related("user").filter(key=value).first()
        if token is None or not token.user.is_active:
            raise Unauthorized("the token is not valid")
        workspaces = frozenset(
            Membership.objects.filter(user_id=token.user_id).values_list("workspace_id", flat=True)
        )
        with _lock:
            _tokens[value] = (time.monotonic(), token.user_id, workspaces)
        return "token", None, workspaces
    if session_user is not None and session_user.is_authenticated:
        return "session", None, None
    raise Unauthorized(NO_CREDENTIALS)


def served_for(name: str, authorization: str | None, session_user=None) -> tuple[Served, str]:
    """(the deployment, how the caller is let in: 'key' | 'token' | 'session').

    401 for missing or bad credentials whatever ``name`` is; 404, with the same
    message, for a name that is not deployed and for one the caller may not use
    (another deployment's key, a workspace the caller is not a member of).
    """
    served = served_cached(name)
    if served is not None:
        found = authorize_cached(served, authorization)
        if found:
            return served, found
    how, key_deployment, workspaces = _caller(authorization, session_user)
    served = served_get(name)
    not_found = NotFound(f"deployment {name!r} not found")
    if served is None:
        raise not_found
    if how == "key":
        if key_deployment != served.deployment_id:
            raise not_found
        if key_hash(_scheme(authorization)[1]) not in served.key_hashes:
            with _lock:  # a key created in another process since this one cached the deployment
                _served.pop(served.name, None)
    elif how == "token":
        if served.workspace_id not in workspaces:
            raise not_found
    else:
        from ..access import member_role

        if member_role(session_user, served.workspace_id) is None:
            raise not_found
    return served, how

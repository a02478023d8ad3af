"""Deploying, rolling back, API keys and ground-truth feedback.

Every change to what is served bumps the serving stamp after the transaction
commits (``serving.state.serving_stamp_bump``), so each serving process picks
it up within ``SERVING_STAMP_TTL`` without a restart.

Arguments arrive typed and validated (the API's serializers check types, ids and
lengths). Permissions are checked once, where the objects are resolved: a
function taking a ``Deployment`` expects the caller to have resolved it with
``selectors.registry.deployment_get(role=Role.EDITOR)``, and ``deployment_deploy``
a ``ModelVersion`` resolved with ``selectors.registry.model_version_get(role=Role.EDITOR)``.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..errors import ApplicationError, Conflict, NotFound
from ..inputs import has_nul, refuse_nul
from ..models import (
    Deployment,
    DeploymentKey,
    DeploymentRevision,
    ModelVersion,
    PredictionLog,
    RevisionAction,
)
from ..serving.state import key_hash, serving_stamp_bump
from .audit import audit_record

logger = logging.getLogger(__name__)

KEY_PREFIX = "mlsk_"


def _after_commit_bump() -> None:
    transaction.on_commit(serving_stamp_bump)


def deployment_deploy(*, user, name: str, version: ModelVersion,
                      override_reason: str | None = None) -> tuple[Deployment, bool]:
    """Serve ``version`` under the validated ``name``: a new deployment, or a new revision of it.

    Returns (deployment, created). The deployment is made in the version's
    workspace, where the caller resolved the version with the editor role
    (``selectors.registry.model_version_get(role=Role.EDITOR)``). A name taken in
    another workspace answers 409 (names are unique across workspaces).
    ``override_reason``: an admin deployed past failing gates (recorded in the audit trail).
    """
    workspace_id = version.registered_model.workspace_id
    with transaction.atomic():
        deployment, created = Deployment.objects.select_for_update().get_or_create(
            name=name, defaults={"workspace_id": workspace_id, "created_by": user}
        )
        if deployment.workspace_id != workspace_id:
            # Names are unique across workspaces, so a clash cannot be hidden; its text
            # must not say where the taken name lives.
            raise Conflict(f"the name {name!r} is not available; choose another", field="name")
        _unfollow(deployment)  # deploying a version pins it
        revision = _revision_add(deployment, version, user, RevisionAction.DEPLOY)
        audit_record(
            workspace_id=workspace_id, user=user, action="deployment.deploy", target=deployment,
            details={"name": name, "revision": revision.number, "model": version.registered_model.name,
                     "version": version.number, "model_version_id": version.pk,
                     **({"override": True, "reason": override_reason} if override_reason is not None else {})},
        )
        _after_commit_bump()
    return deployment, created


def _unfollow(deployment: Deployment) -> str:
    """Stop following an alias (and drop the traffic split); returns what was followed, as
    "model:alias", or "" when the deployment already pinned its version."""
    if not (deployment.model_id or deployment.alias or deployment.traffic):
        return ""
    followed = f"{deployment.model.name}:{deployment.alias}" if deployment.model_id else deployment.alias
    deployment.model, deployment.alias, deployment.traffic = None, "", {}
    deployment.save(update_fields=["model", "alias", "traffic", "updated_at"])
    return followed


def _revision_add(deployment: Deployment, version: ModelVersion, user, action: str,
                  restores: DeploymentRevision | None = None) -> DeploymentRevision:
    last = deployment.revisions.order_by("-number").values_list("number", flat=True).first() or 0
    revision = DeploymentRevision.objects.create(
        deployment=deployment, number=last + 1, model_version=version, action=action,
        restores=restores, created_by=user,
    )
    deployment.current_revision = revision
    deployment.save(update_fields=["current_revision", "updated_at"])
    return revision


def deployment_rollback(*, user, deployment: Deployment, revision_number: int | None = None) -> DeploymentRevision:
    """Serve again the model of an earlier revision, recorded as a new revision.

    Without ``revision_number``: the revision before the one now in effect (for a
    rollback revision, before the one it restored), so repeated rollbacks walk
    back through history. 404 for a revision number the deployment does not
    have, 409 when there is nothing earlier.

    A rollback pins the restored version, as deploying one does: a deployment that
    followed an alias stops following it (and drops its traffic split), so the next
    promotion does not silently undo the rollback. Following again is a deploy with
    ``{"model", "alias"}``.
    """
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
        current = deployment.current_revision
        if revision_number is not None:
            target = deployment.revisions.filter(number=revision_number).first()
            if target is None:
                raise ApplicationError(
                    f"deployment {deployment.name!r} has no revision {revision_number}",
                    status=404, details={"field": "revision"},
                )
        else:
            effective = current.restores if current and current.restores_id else current
            target = (
                deployment.revisions.filter(number__lt=effective.number).order_by("-number").first()
                if effective else None
            )
            if target is None:
                raise Conflict(
                    f"deployment {deployment.name!r} has no earlier revision to roll back to",
                    details={"field": "revision"},
                )
        unfollowed = _unfollow(deployment)
        revision = _revision_add(deployment, target.model_version, user, RevisionAction.ROLLBACK, restores=target)
        audit_record(workspace_id=deployment.workspace_id, user=user, action="deployment.rollback", target=deployment,
                     details={"name": deployment.name, "revision": revision.number, "restores": target.number,
                              "model_version_id": target.model_version_id,
                              **({"unfollowed": unfollowed} if unfollowed else {})})
        _after_commit_bump()
    return revision


def deployment_delete(*, deployment: Deployment, user=None) -> None:
    with transaction.atomic():
        deployment_id = deployment.pk
        deployment.delete()
        audit_record(workspace_id=deployment.workspace_id, user=user, action="deployment.delete",
                     target_type="deployment", target_id=deployment_id, details={"name": deployment.name})
        _after_commit_bump()


# --- keys ------------------------------------------------------------------------


def deployment_key_create(*, user, deployment: Deployment, name: str = "") -> tuple[DeploymentKey, str]:
    """A new API key named ``name`` (at most 100 characters); the plain key is
    returned here once and never stored."""
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = DeploymentKey.objects.create(
            deployment=deployment, name=name, prefix=plain[:12], key_hash=key_hash(plain), created_by=user
        )
        Deployment.objects.filter(pk=deployment.pk).update(updated_at=timezone.now())
        audit_record(workspace_id=deployment.workspace_id, user=user, action="key.create", target=key,
                     details={"deployment": deployment.name, "prefix": key.prefix, "name": name})
        _after_commit_bump()
    return key, plain


def deployment_key_revoke(*, user, deployment: Deployment, key_id: int) -> DeploymentKey:
    """Revoke one of the deployment's keys (idempotent); 404 for a key of another deployment."""
    key = deployment.keys.filter(pk=key_id).first()
    if key is None:
        raise NotFound(f"deployment {deployment.name!r} has no key {key_id}")
    if key.revoked_at is None:
        with transaction.atomic():
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            Deployment.objects.filter(pk=deployment.pk).update(updated_at=timezone.now())
            audit_record(workspace_id=deployment.workspace_id, user=user, action="key.revoke", target=key,
                         details={"deployment": deployment.name, "prefix": key.prefix})
            _after_commit_bump()
    return key


# --- feedback ------------------------------------------------------------------------


def prediction_feedback(*, deployment: Deployment, items: Any) -> dict[str, Any]:
    """Record ground truth: ``{"request_id", "label"}`` or a list of them.

    ``label`` is one value per row of that request (a single value is taken as
    a one-element list for a one-row request). All or nothing: an unknown
    request id or a count mismatch refuses the whole batch, naming the item.
    """
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise ApplicationError(
            'send {"request_id": …, "label": …} or a non-empty list of them', details={"field": "body"}
        )
    if len(items) > 10_000:
        raise ApplicationError("at most 10000 feedback items per request", status=413, details={"field": "body"})
    labels: dict[str, list] = {}
    for i, item in enumerate(items):
        where = f"[{i}]" if len(items) > 1 else ""
        if not isinstance(item, dict):
            raise ApplicationError(f"item {i} is not an object", details={"field": f"body{where}"})
        extra = [k for k in item if k not in ("request_id", "label")]
        if extra:
            raise ApplicationError(f"unknown key {extra[0]!r}", details={"field": f"{where}{extra[0]}".lstrip(".")})
        rid = item.get("request_id")
        refuse_nul(item, field=f"{where}label" if not has_nul(rid) else f"{where}request_id")
        if not isinstance(rid, str) or not rid:
            raise ApplicationError("request_id is required (the id a prediction returned)",
                                   details={"field": f"{where}request_id"})
        if "label" not in item:
            raise ApplicationError("label is required", details={"field": f"{where}label"})
        label = item["label"]
        labels[rid] = label if isinstance(label, list) else [label]
    _logs_landed(deployment, list(labels))
    with transaction.atomic():
        logs = {
            log.request_id: log
            for log in PredictionLog.objects.select_for_update().filter(
                deployment=deployment, request_id__in=list(labels), status=200
            )
        }
        unknown = [rid for rid in labels if rid not in logs]
        if unknown:
            raise ApplicationError(
                f"no prediction of deployment {deployment.name!r} has request id {unknown[0]!r}"
                + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""),
                status=404, details={"field": "request_id", "unknown": unknown[:100]},
            )
        now = timezone.now()
        for rid, label in labels.items():
            log = logs[rid]
            if len(label) != log.n_rows:
                raise ApplicationError(
                    f"request {rid!r} predicted {log.n_rows} rows; send one label per row ({len(label)} given)",
                    details={"field": "label", "request_id": rid},
                )
            log.label = label
            log.labeled_at = now
        PredictionLog.objects.bulk_update(list(logs.values()), ["label", "labeled_at"])
    return {"updated": len(logs)}


FEEDBACK_WAIT_SECONDS = float(os.environ.get("PREDICTION_FEEDBACK_WAIT_SECONDS", "1.0"))


def _logs_landed(deployment: Deployment, request_ids: list[str]) -> None:
    """Make the logs of ``request_ids`` findable when they are on their way.

    Ground truth may be posted right after the prediction, while its log is
    still held by the serving process or in the Redis stream. This writes what
    this process holds and drains the stream here; while some ids are still
    missing (a serving process sends its batch a moment after answering, or
    another drainer holds it uncommitted) it drains again, for at most
    ``PREDICTION_FEEDBACK_WAIT_SECONDS``, or until the stream has stayed empty
    for a few rounds (~150 ms). Ids still unknown then are unknown.
    """
    from ..serving.logbuffer import prediction_logs_flush, transport

    def flush() -> None:
        try:
            prediction_logs_flush(drain_seconds=FEEDBACK_WAIT_SECONDS)
        except Exception:  # noqa: BLE001 - Redis down: what is already written still counts
            logger.warning("could not drain the prediction log stream for feedback", exc_info=True)

    flush()
    if transport() != "redis":
        return
    from .prediction_logs import prediction_log_backlog

    deadline = time.monotonic() + FEEDBACK_WAIT_SECONDS
    wanted = set(request_ids)
    quiet_rounds = 0  # an empty stream twice in a row: nothing is on its way, unknown is unknown
    while time.monotonic() < deadline:
        found = set(
            PredictionLog.objects.filter(deployment=deployment, request_id__in=wanted).values_list(
                "request_id", flat=True
            )
        )
        if found >= wanted:
            return
        backlog = prediction_log_backlog()
        quiet_rounds = quiet_rounds + 1 if backlog["waiting"] + backlog["pending"] == 0 else 0
        if quiet_rounds > 2:
            return
        time.sleep(0.05)
        flush()

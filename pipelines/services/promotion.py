"""Gates, aliases and promotions of a registered model; deployments that follow an alias.

A promotion points ``alias`` at a version after the model's gates ran on it:
- every blocking gate passed → the alias moves, a ``PromotionEvent`` records it
  with the gate results, and every deployment following the alias gets a new
  revision serving the version (the serving stamp makes every process notice,
  no restart);
- a blocking gate failed → 422 with the failing gates, nothing changes (only a
  ``GateEvaluation`` is kept so the version's page shows why);
- an admin may pass ``override=True`` with a reason: the alias moves and the
  event says it was overridden. Warn-only gates never block.

The caller resolved ``registered_model`` with the editor role
(``selectors.delivery.registered_model_get``) and, for an override, checked the
admin role (``access.require_gate_override``).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..errors import ApplicationError, NotFound
from ..models import (
    Deployment,
    GateEvaluation,
    ModelAlias,
    ModelVersion,
    PromotionEvent,
    RegisteredModel,
    RevisionAction,
)
from ..serving.state import serving_stamp_bump
from .audit import audit_record
from .gates import gates_evaluate, gates_validate

ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,49}$")
MAX_REASON = 2000


def alias_check(alias: Any, *, field: str = "alias") -> str:
    if not isinstance(alias, str) or not ALIAS_RE.match(alias):
        raise ApplicationError(
            "an alias is 1–50 letters, digits, '_' or '-', starting with a letter (e.g. champion)",
            field=field,
        )
    return alias


def registered_model_gates_set(*, user, registered_model: RegisteredModel, checks: Any) -> list[dict]:
    gates = gates_validate(checks, registered_model=registered_model)
    with transaction.atomic():
        registered_model.gates = gates
        registered_model.save(update_fields=["gates", "updated_at"])
        audit_record(workspace_id=registered_model.workspace_id, user=user, action="model.gates_set",
                     target=registered_model, details={"name": registered_model.name, "checks": gates})
    return gates


def _override_reason_check(override: bool, reason: str) -> None:
    # Who may override is checked by the caller (access.require_gate_override).
    if override and not reason.strip():
        raise ApplicationError("an override needs a reason; it is recorded", field="reason")


def _refuse(blocked: list[dict], results: list[dict], what: str) -> None:
    raise ApplicationError(
        f"{len(blocked)} blocking gate{'s' if len(blocked) != 1 else ''} failed "
        f"({', '.join(r['kind'] for r in blocked)}); {what}",
        status=422, field="gates", details={"gates": results, "failed": blocked},
    )


def deploy_gates_check(*, user, version: ModelVersion, name: str, override: bool = False,
                       reason: str = "") -> list[dict[str, Any]]:
    """The gates of ``version``'s model for deploying it pinned as ``name``: 422 while a
    blocking one fails, unless an admin overrides with a reason. The results are kept
    as a ``GateEvaluation`` (alias ``deploy:<name>``) either way. The caller checked the
    admin role for an override (``access.require_gate_override``)."""
    _override_reason_check(override, reason)
    results = gates_evaluate(registered_model=version.registered_model, version=version, deployment_name=name)
    if not results:
        return results
    blocked = [r for r in results if r["blocking"] and not r["passed"]]
    GateEvaluation.objects.create(
        model_version=version, alias=f"deploy:{name}"[:50], results=results, passed=not blocked,
        promoted=not blocked or override, created_by=user,
    )
    if blocked and not override:
        _refuse(blocked, results, f"v{version.number} was not deployed as {name!r}")
    return results


def model_promote(*, user, registered_model: RegisteredModel, number: int, alias: str, reason: str = "",
                  override: bool = False, every_gate: bool = False, known_results: list[dict[str, Any]] | None = None
                  ) -> tuple[PromotionEvent, list[dict[str, Any]]]:
    """Point ``alias`` at version ``number`` if the gates allow it; see the module docstring.

    404 for a version number the model does not have; 400 for an override without
    a reason (the caller checked that only an admin overrides); 422 when a blocking
    gate fails (with ``every_gate``, when any gate fails: warn-only ones block too, as
    automatic promotions need). ``known_results``: the gate results of this version's
    promotion to another alias just before, reused for every gate that does not depend
    on the alias (``gates_evaluate``'s ``known``).
    """
    alias_check(alias)
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise ApplicationError(f"reason is text of at most {MAX_REASON} characters", field="reason")
    version = registered_model.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"model {registered_model.name!r} has no version {number}", field="version")
    _override_reason_check(override, reason)
    results = gates_evaluate(registered_model=registered_model, version=version, alias=alias, known=known_results)
    blocked = [r for r in results if (r["blocking"] or every_gate) and not r["passed"]]
    promoted = not blocked or override
    GateEvaluation.objects.create(
        model_version=version, alias=alias, results=results, passed=not blocked, promoted=promoted, created_by=user
    )
    if not promoted:
        _refuse(blocked, results, f"v{number} was not promoted to {alias!r}")
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().filter(pk=registered_model.pk).first()
        current = ModelAlias.objects.select_related("model_version").filter(
            registered_model=registered_model, alias=alias
        ).first()
        previous = current.model_version if current else None
        if current is None:
            ModelAlias.objects.create(registered_model=registered_model, alias=alias, model_version=version,
                                      updated_by=user)
        else:
            current.model_version = version
            current.updated_by = user
            current.save(update_fields=["model_version", "updated_by", "updated_at"])
        event = PromotionEvent.objects.create(
            registered_model=registered_model, alias=alias, from_version=previous,
            from_number=previous.number if previous else None, to_version=version, to_number=version.number,
            reason=reason, override=bool(override and blocked), gates=results, created_by=user,
        )
        _followers_move(registered_model, alias, version, user)
        # A split or shadow may name this alias: every deployment of the model re-resolves
        # it (without Redis, the serving stamp is the newest Deployment.updated_at).
        Deployment.objects.filter(model=registered_model).update(updated_at=timezone.now())
        registered_model.save(update_fields=["updated_at"])
        audit_record(
            workspace_id=registered_model.workspace_id, user=user, action="model.promote", target=version,
            details={"name": registered_model.name, "alias": alias, "from_version": event.from_number,
                     "to_version": version.number, "reason": reason, "override": event.override,
                     "gates": [{"kind": r["kind"], "passed": r["passed"]} for r in results]},
        )
        transaction.on_commit(serving_stamp_bump)
    return event, results


def _followers_move(registered_model: RegisteredModel, alias: str, version: ModelVersion, user) -> None:
    from .deployments import _revision_add

    followers = Deployment.objects.select_for_update(of=("self",)).select_related("current_revision").filter(
        model=registered_model, alias=alias
    )
    for deployment in followers:
        if deployment.current_revision and deployment.current_revision.model_version_id == version.pk:
            continue
        _revision_add(deployment, version, user, RevisionAction.PROMOTE)


def alias_resolve(*, registered_model: RegisteredModel, alias: str, field: str = "alias") -> ModelVersion:
    """The version ``alias`` points at; 400 naming ``field`` when the model has no such alias."""
    alias_check(alias, field=field)
    found = ModelAlias.objects.select_related("model_version").filter(
        registered_model=registered_model, alias=alias
    ).first()
    if found is None:
        known = list(registered_model.aliases.values_list("alias", flat=True))
        raise ApplicationError(
            f"model {registered_model.name!r} has no alias {alias!r}; "
            + (f"its aliases are: {', '.join(known)}" if known else "promote a version to it first"),
            field=field,
        )
    return found.model_version


def deployment_follow(*, user, name: str, registered_model: RegisteredModel, alias: str) -> tuple[Deployment, bool]:
    """Serve whatever ``alias`` of ``registered_model`` points at, under ``name``, and keep
    following it: each promotion to the alias becomes a new revision. (deployment, created).

    ``name`` is validated and ``registered_model`` was resolved with the editor role
    (``selectors.delivery.registered_model_get(role=Role.EDITOR)``)."""
    from .deployments import _after_commit_bump, _revision_add

    version = alias_resolve(registered_model=registered_model, alias=alias)
    from ..errors import Conflict

    with transaction.atomic():
        deployment, created = Deployment.objects.select_for_update().get_or_create(
            name=name, defaults={"workspace_id": registered_model.workspace_id, "created_by": user}
        )
        if deployment.workspace_id != registered_model.workspace_id:
            raise Conflict(f"the name {name!r} is not available; choose another", field="name")
        deployment.model = registered_model
        deployment.alias = alias
        deployment.traffic = {}
        deployment.save(update_fields=["model", "alias", "traffic", "updated_at"])
        revision = _revision_add(deployment, version, user, RevisionAction.DEPLOY)
        audit_record(
            workspace_id=deployment.workspace_id, user=user, action="deployment.deploy", target=deployment,
            details={"name": name, "revision": revision.number, "model": registered_model.name, "alias": alias,
                     "version": version.number, "model_version_id": version.pk},
        )
        _after_commit_bump()
    return deployment, created

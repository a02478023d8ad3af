"""Closing the loop: a persistent drift or performance alert retrains the model.

A deployment's ``RetrainPolicy`` names a pipeline of the same workspace.
``retrain_consider`` is called by ``alert_rules_evaluate`` (inside its
transaction) for each breaching window of a rule with an open alert; it starts a
run (trigger ``drift`` or ``performance``, detail "drift alert #12") when the
rule has breached ``consecutive`` windows in a row, no retrain run of the
deployment is still queued or running, and none started within
``cooldown_hours``. The policy row is locked while deciding, so two evaluations
cannot both start one.

``retrain_runs_collect`` registers the model of each retrain run that has
succeeded as a new version of the model the deployment serves: a candidate,
never deployed here (promotion goes through the delivery gates). Beat calls it
every ``RETRAIN_COLLECT_SECONDS`` and each monitoring tick calls it too.

Continuous training: retrain → evaluate → gates → ``challenger``. With the policy's
``auto_champion`` the challenger is then promoted to ``champion`` too, but only when
the model has gates and every one of them passes for ``champion`` (warn-only ones
included: nobody looks at a warning before an automatic promotion). The promotion
event says "automatic: all gates passed" and is never an override; otherwise the
retrain run's ``error`` and a refused ``GateEvaluation`` say why it stayed challenger.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ..access import has_role
from ..errors import ApplicationError
from ..models import (
    Alert,
    AlertRule,
    Deployment,
    GateEvaluation,
    ModelVersion,
    Pipeline,
    RetrainPolicy,
    RetrainRun,
    Role,
    RunStatus,
    StepRun,
    StepStatus,
    Trigger,
)
from ..models.run import RUN_FINAL
from .alert_signals import DRIFT_SIGNALS
from .promotion import model_promote
from .registry import TRAIN_BLOCKS, model_register
from .runs import run_start

logger = logging.getLogger(__name__)

# The alias a retrained candidate is promoted to, behind the registered model's gates.
CHALLENGER = "challenger"
# The alias an ``auto_champion`` policy promotes the challenger to when every gate passes.
CHAMPION = "champion"
AUTO_CHAMPION_REASON = "automatic: all gates passed"

RETRAIN_ON = ("drift", "performance")


def _kind(signal: str) -> str | None:
    if signal in DRIFT_SIGNALS:
        return Trigger.DRIFT
    if signal == "performance":
        return Trigger.PERFORMANCE
    return None


def retrain_policy_set(
    *, deployment: Deployment, user, pipeline: Pipeline, on: list[str], consecutive: int, cooldown_hours: float,
    auto_champion: bool = False,
) -> RetrainPolicy:
    """Create or replace the deployment's policy; runs will be started as ``user``.

    The caller resolved the deployment with the editor role and the pipeline as one
    ``user`` can see. The pipeline must be in the deployment's workspace (where the
    user is an editor, so may start its runs) and have a model.train or model.tune
    node (400 naming ``pipeline`` otherwise).
    """
    pipeline_id = pipeline.pk
    if pipeline.workspace_id != deployment.workspace_id:
        raise ApplicationError(
            f"pipeline {pipeline_id} is in another workspace than deployment {deployment.name!r}", field="pipeline"
        )
    nodes = (pipeline.graph or {}).get("nodes") or []
    if not any(isinstance(n, dict) and n.get("block") in TRAIN_BLOCKS for n in nodes):
        raise ApplicationError(
            f"pipeline {pipeline_id} has no model.train or model.tune node, so it trains no model", field="pipeline"
        )
    policy, _ = RetrainPolicy.objects.update_or_create(
        deployment=deployment,
        defaults={"pipeline": pipeline, "on": sorted(set(on)), "consecutive": consecutive,
                  "cooldown_hours": cooldown_hours, "auto_champion": auto_champion, "user": user,
                  "last_error": ""},
    )
    return policy


def retrain_policy_delete(*, deployment: Deployment) -> None:
    RetrainPolicy.objects.filter(deployment=deployment).delete()


def retrain_consider(*, policy: RetrainPolicy, rule: AlertRule, alert: Alert) -> RetrainRun | None:
    """Start a retrain run for ``alert`` if the policy says so (see the module's doc)."""
    kind = _kind(rule.signal)
    if kind is None or kind not in policy.on or rule.streak < policy.consecutive:
        return None
    with transaction.atomic():
        policy = RetrainPolicy.objects.select_for_update().select_related("pipeline").get(pk=policy.pk)
        runs = RetrainRun.objects.filter(deployment_id=policy.deployment_id)
        if runs.filter(run__status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).exists():
            return None  # one retrain at a time
        last = runs.aggregate(at=Max("created_at"))["at"]
        if last is not None and timezone.now() - last < timedelta(hours=policy.cooldown_hours):
            return None
        problem = _cannot_start(policy)
        if problem is None:
            try:
                run = run_start(
                    pipeline=policy.pipeline, user=policy.user, trigger=kind, trigger_detail=f"{kind} alert #{alert.pk}"
                )
            except ApplicationError as exc:
                problem = f"the pipeline could not start: {exc.message}"
        if problem is not None:
            logger.warning("retrain of deployment %s not started: %s", policy.deployment_id, problem)
            RetrainPolicy.objects.filter(pk=policy.pk).update(last_error=problem[:500])
            return None
        RetrainPolicy.objects.filter(pk=policy.pk).update(last_error="")
        return RetrainRun.objects.create(deployment_id=policy.deployment_id, run=run, alert=alert, trigger=kind)


def _cannot_start(policy: RetrainPolicy) -> str | None:
    if policy.user is None or not policy.user.is_active:
        return "the user who set the retrain policy no longer exists; set the policy again"
    if not has_role(policy.user, policy.pipeline.workspace_id, Role.EDITOR):
        return f"{policy.user.get_username()} may no longer run pipelines here; set the policy again"
    return None


def _training_node(run) -> str | None:
    """The training step whose model the run's headline evaluates, else the first one."""
    steps = list(StepRun.objects.filter(run=run, status=StepStatus.SUCCEEDED, block_key__in=TRAIN_BLOCKS)
                 .order_by("position").values_list("node_id", flat=True))
    if run.headline_node:
        source = (StepRun.objects.filter(run=run, node_id=run.headline_node).values_list("inputs", flat=True)
                  .first() or {}).get("model")
        if source and source[0] in steps:
            return source[0]
    return steps[0] if steps else None


def retrain_runs_collect(*, deployment: Deployment | None = None) -> int:
    """Register the candidate of every retrain run that ended and was not collected yet;
    how many were collected. Safe to run concurrently (rows are claimed with SKIP LOCKED)."""
    pending = RetrainRun.objects.filter(done=False, run__status__in=RUN_FINAL)
    if deployment is not None:
        pending = pending.filter(deployment=deployment)
    collected = 0
    for pk in list(pending.values_list("pk", flat=True)):
        with transaction.atomic():
            retrain = (
                RetrainRun.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("run__pipeline_version", "deployment__current_revision__model_version__registered_model")
                .filter(pk=pk, done=False).first()
            )
            if retrain is None:
                continue
            retrain.model_version, retrain.error = _register(retrain)
            retrain.done = True
            retrain.save(update_fields=["model_version", "error", "done"])
            collected += 1
    return collected


def _register(retrain: RetrainRun) -> tuple[ModelVersion | None, str]:
    run = retrain.run
    if run.status != RunStatus.SUCCEEDED:
        return None, f"the retrain run {run.status}"
    node = _training_node(run)
    if node is None:
        return None, "the retrain run has no succeeded model.train or model.tune step"
    revision = retrain.deployment.current_revision
    name = revision.model_version.registered_model.name if revision else retrain.deployment.name
    try:
        version = model_register(user=run.created_by, name=name, run=run, node_id=node)
    except ApplicationError as exc:
        return None, exc.message[:500]
    cause = run.trigger_detail or run.trigger
    note = (f" Candidate retrained by run {run.pk} ({cause}) for deployment {retrain.deployment.name!r}; "
            "not deployed until promoted.")
    ModelVersion.objects.filter(pk=version.pk).update(description=(version.description + note).strip())
    auto_champion = RetrainPolicy.objects.filter(deployment_id=retrain.deployment_id, auto_champion=True).exists()
    problem, results = _challenger_promote(version, run, cause)
    if not problem and auto_champion:
        problem = _champion_promote(version, run, results)
    return version, problem


def _challenger_promote(version: ModelVersion, run, cause: str) -> tuple[str, list[dict[str, Any]]]:
    """Continuous training's last step: the candidate becomes the ``challenger`` if the
    model's gates pass (never by override); (what refused it otherwise, the gate results).
    A deployment serves it only through a split or a shadow the user set on ``challenger``,
    or a later promotion."""
    try:
        with transaction.atomic():  # a refusal rolls back to here, not the caller's transaction
            _, results = model_promote(
                user=run.created_by, registered_model=version.registered_model, number=version.number,
                alias=CHALLENGER, reason=f"retrained by run {run.pk} ({cause})",
            )
    except ApplicationError as exc:
        return f"v{version.number} was registered but not made {CHALLENGER}: {exc.message}"[:500], []
    return "", results


def _champion_promote(version: ModelVersion, run, challenger_results: list[dict[str, Any]]) -> str:
    """The ``auto_champion`` step: the challenger becomes the ``champion`` (and every deployment
    following it serves the version) when the model has gates and all of them pass; what kept
    it challenger otherwise. A model without gates is never promoted automatically: nothing
    would have checked the candidate. The gates evaluated for ``challenger`` a moment ago are
    not run again, except those about the deployments following the alias."""
    held = f"v{version.number} is the {CHALLENGER} but was not made {CHAMPION} automatically"
    if not version.registered_model.gates:
        return f"{held}: the model has no gates to pass (set some to allow automatic promotion)"
    try:
        with transaction.atomic():
            model_promote(
                user=run.created_by, registered_model=version.registered_model, number=version.number,
                alias=CHAMPION, reason=AUTO_CHAMPION_REASON, every_gate=True, known_results=challenger_results,
            )
    except ApplicationError as exc:
        results = (exc.details or {}).get("gates") or []
        if results:  # the refusal's own record was rolled back with it: keep why on the version
            GateEvaluation.objects.create(
                model_version=version, alias=CHAMPION, results=results, promoted=False, created_by=run.created_by,
                passed=not any(r["blocking"] and not r["passed"] for r in results),
            )
        failed = (exc.details or {}).get("failed") or []
        why = "; ".join(f"{r['kind']} failed ({r['detail']})" for r in failed) or exc.message
        return f"{held}: {why}"[:500]
    return ""


def retrain_summary(policy: RetrainPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {"pipeline": policy.pipeline_id, "on": policy.on, "consecutive": policy.consecutive,
            "cooldown_hours": policy.cooldown_hours, "auto_champion": policy.auto_champion,
            "last_error": policy.last_error,
            "updated_at": policy.updated_at}

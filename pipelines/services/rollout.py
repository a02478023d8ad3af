"""Rollout of a deployment that follows an alias: canary split, shadow, automatic rollback.

``Deployment.traffic`` is one of:
- ``{}``: every request goes to the alias the deployment follows;
- ``{"split": {alias: percent, …}}``: whole percents summing to 100, naming the
  followed alias and other aliases of the same model. Serving hashes the
  request's ``X-Request-ID`` (a random id when absent) into 0–99, so a client
  that sends the same id always lands on the same side (``serving.state``);
- ``{"shadow": alias}``: the followed alias answers every request; each one is
  mirrored, off the request path, to ``alias`` and only its answers are logged
  (``ShadowPrediction`` via ``serving.shadow``).

Automatic rollback (``rollout_check``): beat runs ``pipelines.rollout_check``
every ``ROLLOUT_CHECK_SECONDS``. For each deployment with a split it compares, over
the requests since the split was set, each other alias's version with the
followed one; once both have at least ``ROLLOUT_MIN_REQUESTS`` requests, a
version is taken out when it is worse by an amount that matters AND the data show
the difference is real (one-sided test, p < ``ROLLOUT_MAX_P``, 0.01):
- errors: its error rate exceeds the followed one's by more than 1 point, and
  Fisher's exact test says its error rate is greater;
- latency: its p95 exceeds 1.5× the followed one's p95 and by at least
  ``LATENCY_MIN_GAP_MS``, and a Mann–Whitney U test on the answered requests'
  latencies says its latencies are greater.
With ~50 requests a side each p95 is about the third slowest request and one error
is 2 %: the thresholds alone roll back a canary as good as the champion whenever a
few random requests on its side are slow or fail (a busy host); the tests do not,
because they weigh every request. The split then goes back to 100 % on the followed
alias and a ``TrafficChange`` (automatic) says why, with the p-value.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from ..errors import ApplicationError
from ..models import Deployment, ModelAlias, PredictionLog, TrafficChange
from ..serving.state import serving_stamp_bump
from .audit import audit_record
from .promotion import alias_check

ROLLOUT_MIN_REQUESTS = int(os.environ.get("ROLLOUT_MIN_REQUESTS", "50"))
ERROR_RATE_MARGIN = 0.01  # one point
LATENCY_FACTOR = 1.5
# Below this absolute gap a p95 ratio is noise (sub-millisecond models on a busy host):
# a canary is rolled back for latency only when it is both 1.5× and this much slower.
LATENCY_MIN_GAP_MS = float(os.environ.get("ROLLOUT_LATENCY_MIN_GAP_MS", "5"))
# A worse-looking canary is rolled back only when a one-sided test gives p below this:
# the chance that a canary as good as the followed alias looks this much worse.
ROLLOUT_MAX_P = 0.01


def traffic_validate(*, deployment: Deployment, body: Any) -> dict[str, Any]:
    """The traffic setting in its stored form; 400 naming the field otherwise."""
    if not isinstance(body, dict):
        raise ApplicationError('send {"split": {alias: percent}} or {"shadow": alias}', field="body")
    extra = [k for k in body if k not in ("split", "shadow")]
    if extra:
        raise ApplicationError(f"unknown key {extra[0]!r}; send split or shadow", field=extra[0])
    if "split" in body and "shadow" in body:
        raise ApplicationError("send either split or shadow, not both", field="shadow")
    if not body:
        return {}
    if not deployment.model_id:
        raise ApplicationError(
            f"deployment {deployment.name!r} serves a pinned version; canary and shadow need a deployment "
            'that follows an alias (POST /api/deployments/ with {"name", "model", "alias"})',
            field="split" if "split" in body else "shadow",
        )
    known = set(ModelAlias.objects.filter(registered_model_id=deployment.model_id).values_list("alias", flat=True))

    def known_alias(alias: Any, field: str) -> str:
        alias_check(alias, field=field)
        if alias not in known:
            raise ApplicationError(
                f"model {deployment.model.name!r} has no alias {alias!r}; its aliases are: {', '.join(sorted(known))}",
                field=field,
            )
        return alias

    if "shadow" in body:
        alias = known_alias(body["shadow"], "shadow")
        if alias == deployment.alias:
            raise ApplicationError(f"{alias!r} already answers every request; shadow another alias", field="shadow")
        return {"shadow": alias}
    split = body["split"]
    if not isinstance(split, dict) or not split:
        raise ApplicationError("split maps aliases to whole percents summing to 100", field="split")
    out: dict[str, int] = {}
    for alias, percent in split.items():
        known_alias(alias, f"split.{alias}" if isinstance(alias, str) and len(alias) <= 50 else "split")
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise ApplicationError("a percent is a whole number from 0 to 100", field=f"split.{alias}")
        out[alias] = percent
    if sum(out.values()) != 100:
        raise ApplicationError(f"the percents sum to {sum(out.values())}, not 100", field="split")
    if deployment.alias not in out:
        raise ApplicationError(
            f"the split must name the alias the deployment follows ({deployment.alias!r})", field="split"
        )
    return {"split": out}


def traffic_set(*, user, deployment: Deployment, body: Any, reason: str = "", automatic: bool = False) -> dict:
    traffic = traffic_validate(deployment=deployment, body=body)
    with transaction.atomic():
        Deployment.objects.filter(pk=deployment.pk).update(traffic=traffic, updated_at=timezone.now())
        TrafficChange.objects.create(deployment=deployment, traffic=traffic, automatic=automatic,
                                     reason=reason, created_by=user)
        audit_record(workspace_id=deployment.workspace_id, user=user, action="deployment.traffic", target=deployment,
                     details={"name": deployment.name, "traffic": traffic, "automatic": automatic, "reason": reason})
        transaction.on_commit(serving_stamp_bump)
    deployment.traffic = traffic
    return traffic


def _since_split(deployment: Deployment):
    last = deployment.traffic_changes.order_by("-created_at", "-id").values_list("created_at", flat=True).first()
    return last or deployment.updated_at


def rollout_compare(*, deployment: Deployment) -> dict[str, dict[str, Any]]:
    """{alias: {"model_version_id", "requests", "errors", "error_rate", "p95_ms", "p_errors",
    "p_latency"}} of the split's aliases over the requests since the split was set (one query
    for the requests). ``p_errors`` / ``p_latency``: the one-sided p-value that the alias has a
    greater error rate (Fisher's exact test) / greater latencies (Mann–Whitney U, answered
    requests only) than the followed alias; None for the followed alias itself and when a side
    has nothing to compare."""
    split = (deployment.traffic or {}).get("split") or {}
    if not split:
        return {}
    versions = dict(
        ModelAlias.objects.filter(registered_model_id=deployment.model_id, alias__in=list(split)).values_list(
            "alias", "model_version_id"
        )
    )
    rows = np.fromiter(
        PredictionLog.objects.filter(
            deployment=deployment, created_at__gte=_since_split(deployment),
            model_version_id__in=list(versions.values()),
        ).order_by().values_list("model_version_id", "status", "latency_ms").iterator(),
        dtype=[("version", np.int64), ("status", np.int32), ("latency", np.float64)],
    )
    sides = {}
    for alias, version_id in versions.items():
        seen = rows[rows["version"] == version_id]
        failed = seen["status"] >= 400
        sides[alias] = (len(seen), int(failed.sum()), seen["latency"][~failed])
    base = sides.get(deployment.alias)
    out = {}
    for alias, (requests, errors, latencies) in sides.items():
        compared = base is not None and alias != deployment.alias
        out[alias] = {
            "model_version_id": versions[alias],
            "requests": requests,
            "errors": errors,
            "error_rate": errors / requests if requests else 0.0,
            "p95_ms": float(np.percentile(latencies, 95)) if len(latencies) else None,
            "p_errors": _p_more_errors(requests, errors, base[0], base[1]) if compared else None,
            "p_latency": _p_slower(latencies, base[2]) if compared else None,
        }
    return out


def _p_more_errors(requests: int, errors: int, base_requests: int, base_errors: int) -> float | None:
    """One-sided Fisher's exact test: p that a side with the base's error rate fails this often."""
    if not requests or not base_requests:
        return None
    # Imported here: the web process loads without SciPy (test_web_imports).
    from scipy.stats import fisher_exact

    table = [[errors, requests - errors], [base_errors, base_requests - base_errors]]
    return float(fisher_exact(table, alternative="greater").pvalue)


def _p_slower(latencies: np.ndarray, base: np.ndarray) -> float | None:
    """One-sided Mann–Whitney U test: p that latencies drawn like the base's rank this high.
    Every request counts by its rank, so a few slow outliers weigh little and a shift of
    all of them weighs a lot."""
    if not len(latencies) or not len(base):
        return None
    # Imported here: the web process loads without SciPy (test_web_imports).
    from scipy.stats import mannwhitneyu

    p = float(mannwhitneyu(latencies, base, alternative="greater").pvalue)
    return p if np.isfinite(p) else 1.0


def rollout_check(*, deployment: Deployment) -> str | None:
    """Roll the split back to the followed alias when a canary does worse, by a margin that
    matters and significantly (module docstring); returns the reason (None when nothing was
    rolled back)."""
    stats = rollout_compare(deployment=deployment)
    base = stats.get(deployment.alias)
    if not base or base["requests"] < ROLLOUT_MIN_REQUESTS:
        return None
    for alias, s in stats.items():
        if alias == deployment.alias or s["requests"] < ROLLOUT_MIN_REQUESTS:
            continue
        reason = None
        if (s["error_rate"] > base["error_rate"] + ERROR_RATE_MARGIN
                and s["p_errors"] is not None and s["p_errors"] < ROLLOUT_MAX_P):
            reason = (f"{alias!r} error rate {s['error_rate']:.1%} exceeds {deployment.alias!r}'s "
                      f"{base['error_rate']:.1%} by more than 1 point "
                      f"(one-sided Fisher's exact test p = {s['p_errors']:.2g} < {ROLLOUT_MAX_P:g})")
        elif (s["p95_ms"] and base["p95_ms"] and s["p95_ms"] > LATENCY_FACTOR * base["p95_ms"]
              and s["p95_ms"] - base["p95_ms"] >= LATENCY_MIN_GAP_MS
              and s["p_latency"] is not None and s["p_latency"] < ROLLOUT_MAX_P):
            reason = (f"{alias!r} p95 latency {s['p95_ms']:.2f} ms exceeds 1.5× {deployment.alias!r}'s "
                      f"{base['p95_ms']:.2f} ms (one-sided Mann–Whitney U test p = {s['p_latency']:.2g} "
                      f"< {ROLLOUT_MAX_P:g})")
        if reason:
            traffic_set(user=None, deployment=deployment, body={}, reason=f"automatic rollback: {reason}",
                        automatic=True)
            return reason
    return None


def rollout_check_all() -> int:
    """``rollout_check`` for every deployment with a canary split; the number rolled back."""
    rolled = 0
    for deployment in Deployment.objects.filter(model__isnull=False).exclude(traffic={}).select_related("model"):
        if (deployment.traffic or {}).get("split") and rollout_check(deployment=deployment):
            rolled += 1
    return rolled

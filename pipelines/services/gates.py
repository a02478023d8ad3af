"""Promotion gates: what a registered model's gates may say, and checking a version against them.

A gate is ``{"kind", "blocking": bool, …params}``; ``gates_validate`` answers 400
naming the field for anything else. ``gates_evaluate`` runs every gate of the
model on one version and returns ``[{"kind", "blocking", "passed", "detail"}]``;
it writes nothing (``services.promotion`` records the results).

Decisions:
- ``metric_min`` is a floor (``value ≥ min``) whatever the metric; for error
  metrics (MAE, RMSE) use ``no_regression``, which knows their direction.
- ``no_regression`` compares the evaluate metrics recorded on both versions (the
  frozen test set of their runs) and, when the deployments following the alias
  have at least ``FEEDBACK_MIN_LABELS`` labelled predictions of the champion,
  the candidate's score on those rows against the champion's answers there.
- ``latency_p95_ms`` runs in the calling process: 100 one-row predictions of the
  signature's example through the serving code path with the process's cached
  model (``serving.state.model_get``), so it measures what serving does.
- ``fairness`` reads the report of a ``rai.fairness`` step of the version's run that
  judged its model (``demographic_parity_difference`` …), or such a dict recorded among
  its metrics; without one it fails with "no fairness report for this version".
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..errors import ApplicationError
from ..models import Deployment, ModelAlias, ModelVersion, PredictionLog, RegisteredModel
from ..selectors.runs import model_fairness_reports

KINDS = ("metric_min", "no_regression", "schema_compatible", "min_rows", "latency_p95_ms", "fairness")
PARAMS: dict[str, tuple[str, ...]] = {
    "metric_min": ("metric", "value"),
    "no_regression": ("metric", "tolerance"),
    "schema_compatible": (),
    "min_rows": ("value",),
    "latency_p95_ms": ("value",),
    "fairness": ("metric", "value"),
}
LOWER_IS_BETTER = frozenset({"mae", "rmse", "mse", "log_loss"})
# Fairness metrics: differences must stay at or below the value, ratios at or above it.
FAIRNESS = {"demographic_parity_difference": "max", "equalized_odds_difference": "max",
            "demographic_parity_ratio": "min"}
CHAMPION = "champion"
FEEDBACK_MIN_LABELS = 20
FEEDBACK_MAX_LOGS = 500
LATENCY_CALLS = 100
MAX_GATES = 20


# --- reading metrics --------------------------------------------------------------


def version_metric(version: ModelVersion, metric: str) -> float | None:
    """The first finite number recorded under ``metric`` by the version's evaluate steps."""
    for values in (version.metrics or {}).values():
        if isinstance(values, dict):
            value = values.get(metric)
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                return float(value)
    return None


def reported_metrics(versions: list[ModelVersion]) -> set[str]:
    names: set[str] = set()
    for version in versions:
        for values in (version.metrics or {}).values():
            if isinstance(values, dict):
                names |= {k for k, v in values.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return names


def fairness_report(version: ModelVersion) -> dict | None:
    """The version's fairness figures: the first ``rai.fairness`` step of its run that judged
    its model, else a fairness dict recorded among its metrics."""
    for _step, report in model_fairness_reports(run_id=version.run_id, model_node=version.node_id):
        if any(k in report for k in FAIRNESS):
            return report
    for values in (version.metrics or {}).values():
        if isinstance(values, dict) and any(k in values for k in FAIRNESS):
            return values
    return None


# --- validating --------------------------------------------------------------------


def _number(check: dict, key: str, where: str, *, minimum: float | None = None) -> float:
    value = check.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ApplicationError(f"{key} must be a number", field=f"{where}.{key}")
    if minimum is not None and value < minimum:
        raise ApplicationError(f"{key} must be at least {minimum}", field=f"{where}.{key}")
    return float(value)


def gates_validate(checks: Any, *, registered_model: RegisteredModel) -> list[dict[str, Any]]:
    """The checks in their stored form; 400 naming ``checks[i].field`` for the first problem.

    A metric the model's versions do not report is refused (a typo would
    otherwise block every promotion).
    """
    if not isinstance(checks, list):
        raise ApplicationError('checks must be a list of {"kind", "blocking", …}', field="checks")
    if len(checks) > MAX_GATES:
        raise ApplicationError(f"at most {MAX_GATES} gates", field="checks")
    reported = reported_metrics(list(registered_model.versions.all()))
    out = []
    for i, check in enumerate(checks):
        where = f"checks[{i}]"
        if not isinstance(check, dict):
            raise ApplicationError("each check is an object", field=where)
        kind = check.get("kind")
        if kind not in KINDS:
            raise ApplicationError(
                f"unknown gate kind {kind!r}; kinds are: {', '.join(KINDS)}", field=f"{where}.kind"
            )
        allowed = {"kind", "blocking", *PARAMS[kind]}
        extra = sorted(k for k in check if k not in allowed)
        if extra:
            raise ApplicationError(
                f"a {kind} gate takes {', '.join(sorted(allowed))}; {extra[0]!r} is not one of them",
                field=f"{where}.{extra[0]}",
            )
        blocking = check.get("blocking", True)
        if not isinstance(blocking, bool):
            raise ApplicationError("blocking must be true or false", field=f"{where}.blocking")
        gate: dict[str, Any] = {"kind": kind, "blocking": blocking}
        if "metric" in PARAMS[kind]:
            metric = check.get("metric")
            if not isinstance(metric, str) or not metric:
                raise ApplicationError("metric is required", field=f"{where}.metric")
            if kind == "fairness":
                if metric not in FAIRNESS:
                    raise ApplicationError(
                        f"unknown fairness metric {metric!r}; use one of: {', '.join(FAIRNESS)}",
                        field=f"{where}.metric",
                    )
            elif metric not in reported:
                raise ApplicationError(
                    f"model {registered_model.name!r} does not report the metric {metric!r}; "
                    f"it reports: {', '.join(sorted(reported)) or 'no metrics (add a model.evaluate step)'}",
                    field=f"{where}.metric",
                )
            gate["metric"] = metric
        if kind == "no_regression":
            gate["tolerance"] = _number(check, "tolerance", where, minimum=0) if "tolerance" in check else 0.0
        elif kind in ("min_rows", "latency_p95_ms"):
            gate["value"] = _number(check, "value", where, minimum=0)
        elif kind in ("metric_min", "fairness"):
            gate["value"] = _number(check, "value", where)
        out.append(gate)
    return out


# --- evaluating --------------------------------------------------------------------


def _result(gate: dict, passed: bool, detail: str) -> dict[str, Any]:
    return {"kind": gate["kind"], "blocking": gate["blocking"], "passed": bool(passed), "detail": detail,
            **{k: v for k, v in gate.items() if k not in ("kind", "blocking")}}


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _metric_min(gate, version, **_) -> dict:
    value = version_metric(version, gate["metric"])
    if value is None:
        return _result(gate, False, f"v{version.number} reports no {gate['metric']}")
    ok = value >= gate["value"]
    return _result(gate, ok, f"{gate['metric']} {_fmt(value)} {'≥' if ok else '<'} minimum {_fmt(gate['value'])}")


def _no_regression(gate, version, champion: ModelVersion | None, **_) -> dict:
    metric, tolerance = gate["metric"], gate["tolerance"]
    if champion is None:
        return _result(gate, True, "no champion yet: nothing to regress from")
    if champion.pk == version.pk:
        return _result(gate, True, f"v{version.number} is the champion")
    lower = metric in LOWER_IS_BETTER
    parts, ok = [], True
    mine, theirs = version_metric(version, metric), version_metric(champion, metric)
    if mine is None:
        return _result(gate, False, f"v{version.number} reports no {metric} on its test set")
    if theirs is None:
        parts.append(f"champion v{champion.number} reports no {metric}; test-set comparison skipped")
    else:
        passed = mine <= theirs + tolerance if lower else mine >= theirs - tolerance
        ok &= passed
        parts.append(
            f"test set: {metric} {_fmt(mine)} vs champion v{champion.number} {_fmt(theirs)}"
            f" (tolerance {_fmt(tolerance)}){'' if passed else ' — regressed'}"
        )
    feedback = _feedback_scores(metric, version, champion)
    if feedback is not None:
        mine_fb, theirs_fb, n = feedback
        passed = mine_fb <= theirs_fb + tolerance if lower else mine_fb >= theirs_fb - tolerance
        ok &= passed
        parts.append(
            f"feedback window ({n} labelled rows): {_fmt(mine_fb)} vs champion {_fmt(theirs_fb)}"
            f"{'' if passed else ' — regressed'}"
        )
    return _result(gate, ok, "; ".join(parts))


_SCORERS = {
    "accuracy": lambda y, p: float(np.mean(np.asarray(y, dtype=object) == np.asarray(p, dtype=object))),
    "mae": lambda y, p: float(np.mean(np.abs(np.asarray(y, float) - np.asarray(p, float)))),
    "rmse": lambda y, p: float(np.sqrt(np.mean((np.asarray(y, float) - np.asarray(p, float)) ** 2))),
}


def _feedback_scores(metric: str, version, champion) -> tuple[float, float, int] | None:
    """(candidate, champion, rows) on the latest labelled predictions the champion
    answered (any deployment), or None when the metric cannot be scored from labels
    or there are fewer than ``FEEDBACK_MIN_LABELS``."""
    scorer = _SCORERS.get(metric)
    if scorer is None:
        return None
    logs = list(
        PredictionLog.objects.filter(model_version=champion, status=200, label__isnull=False).order_by("-created_at").values_list("inputs", "outputs", "label")[:FEEDBACK_MAX_LOGS]
    )
    records, labels, answered = [], [], []
    for inputs, outputs, label in logs:
        predictions = (outputs or {}).get("predictions") or []
        if isinstance(inputs, list) and len(inputs) == len(label) == len(predictions):
            records += inputs
            labels += label
            answered += predictions
    if len(labels) < FEEDBACK_MIN_LABELS:
        return None
    from ..serving.coerce import Signature, frame_from_body
    from ..serving.runner import run
    from ..serving.state import model_get

    sig = Signature(version.signature, max_rows=len(records))
    try:
        frame = frame_from_body({"instances": records}, sig)
        predicted, _ = run(model_get(version.artifact_sha256), frame, sig.columns, all_float=sig.all_float,
                           want_proba=False)
    except (ApplicationError, ValueError, TypeError, KeyError):
        return None
    return scorer(labels, predicted.tolist()), scorer(labels, answered), len(labels)


def _schema_compatible(gate, version, followers: list[Deployment], target: str, **_) -> dict:
    served = [d for d in followers if d.current_revision_id]
    if not served:
        return _result(gate, True, f"nothing is served for {target} yet")
    problems = []
    mine = {c["name"]: c.get("dtype") for c in version.signature.get("inputs", [])}
    for deployment in served:
        current = deployment.current_revision.model_version
        theirs = {c["name"]: c.get("dtype") for c in current.signature.get("inputs", [])}
        missing = [c for c in mine if c not in theirs]
        extra = [c for c in theirs if c not in mine]
        dtypes = [f"{c} {theirs[c]}→{mine[c]}" for c in mine if c in theirs and theirs[c] != mine[c]]
        if missing:
            problems.append(f"{deployment.name}: needs columns its clients do not send: {', '.join(missing)}")
        if extra:
            problems.append(f"{deployment.name}: no longer takes columns: {', '.join(extra)}")
        if dtypes:
            problems.append(f"{deployment.name}: dtypes changed: {', '.join(dtypes)}")
    if problems:
        return _result(gate, False, "; ".join(problems))
    names = ", ".join(d.name for d in served)
    return _result(gate, True, f"same columns and dtypes as what {names} serves")


def _min_rows(gate, version, **_) -> dict:
    ok = version.training_rows >= gate["value"]
    return _result(gate, ok, f"trained on {version.training_rows} rows ({'≥' if ok else '<'} {_fmt(gate['value'])})")


def latency_p95_ms(version: ModelVersion, calls: int = LATENCY_CALLS) -> float:
    """p95 (ms) of ``calls`` one-row predictions of the signature's example, as serving runs them."""
    from ..serving.coerce import Signature, frame_from_body
    from ..serving.runner import run
    from ..serving.state import model_get

    sig = Signature(version.signature)
    model = model_get(version.artifact_sha256)
    example = version.signature.get("example") or {}
    body = {"instances": [{c: example.get(c) for c in sig.columns}]}
    want_proba = version.task == "classification"
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        frame = frame_from_body(body, sig)
        run(model, frame, sig.columns, all_float=sig.all_float, want_proba=want_proba)
        timings.append((time.perf_counter() - started) * 1000.0)
    return float(np.percentile(timings, 95))


def _latency(gate, version, **_) -> dict:
    try:
        p95 = latency_p95_ms(version)
    except ApplicationError as exc:
        return _result(gate, False, f"the smoke test could not predict: {exc.message}")
    ok = p95 <= gate["value"]
    return _result(gate, ok, f"p95 of {LATENCY_CALLS} one-row predictions {p95:.2f} ms "
                             f"({'≤' if ok else '>'} {_fmt(gate['value'])} ms)")


def _fairness(gate, version, **_) -> dict:
    report = fairness_report(version)
    metric = gate["metric"]
    if report is None or not isinstance(report.get(metric), int | float):
        return _result(gate, False, "no fairness report for this version")
    value = float(report[metric])
    ok = value <= gate["value"] if FAIRNESS[metric] == "max" else value >= gate["value"]
    sign = ("≤" if ok else ">") if FAIRNESS[metric] == "max" else ("≥" if ok else "<")
    return _result(gate, ok, f"{metric} {_fmt(value)}{_worst_class(report, metric)} {sign} {_fmt(gate['value'])}")


def _worst_class(report: dict, metric: str) -> str:
    """A multiclass report's number is its worst class's: name that class, it is the one to look at."""
    worst = report.get("worst_class")
    label = worst.get(metric) if isinstance(worst, dict) else None
    if label is None:
        return ""
    return f" (class {label!r}, the worst of {len(report.get('classes') or [])} classes)"


# The gates whose answer depends on the alias or deployment they are evaluated for.
TARGET_KINDS = frozenset({"schema_compatible"})
_EVALUATE = {
    "metric_min": _metric_min,
    "no_regression": _no_regression,
    "schema_compatible": _schema_compatible,
    "min_rows": _min_rows,
    "latency_p95_ms": _latency,
    "fairness": _fairness,
}


def gates_evaluate(*, registered_model: RegisteredModel, version: ModelVersion, alias: str = "",
                   deployment_name: str | None = None, known: list[dict[str, Any]] | None = None
                   ) -> list[dict[str, Any]]:
    """Every gate of the model on ``version`` for a promotion to ``alias``, or for deploying
    it pinned as ``deployment_name`` (then ``schema_compatible`` compares with that deployment).

    ``known``: this call's results for the same version and gates, for another alias, from
    just before (an automatic promotion to challenger, then champion). Only the gates about
    the target (``TARGET_KINDS``) run again; the others are taken from it: their answer is
    the same, and the latency smoke test alone is a hundred predictions."""
    if not registered_model.gates:
        return []
    champion_alias = ModelAlias.objects.select_related("model_version").filter(
        registered_model=registered_model, alias=CHAMPION
    ).first()
    followers = Deployment.objects.select_related("current_revision__model_version")
    if deployment_name is not None:
        followers = followers.filter(name=deployment_name)
        target = f"deployment {deployment_name!r}"
    else:
        followers = followers.filter(model=registered_model, alias=alias)
        target = f"alias {alias!r}"
    context = {
        "version": version,
        "champion": champion_alias.model_version if champion_alias else None,
        "followers": list(followers),
        "target": target,
    }
    return [
        known[i] if known and gate["kind"] not in TARGET_KINDS else _EVALUATE[gate["kind"]](gate, **context)
        for i, gate in enumerate(registered_model.gates)
    ]

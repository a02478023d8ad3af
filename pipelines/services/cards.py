"""Model cards: what a model version is, written from its lineage, with editable considerations.

The card follows the Model Card Toolkit's sections (``model_details``,
``model_parameters``, ``quantitative_analysis``, ``considerations``) plus
``fairness``, ``explainability`` and ``monitoring``. Everything but the
considerations is computed from records, never typed in: the version and its
registered model, the run that trained it (its dataset steps, its evaluate
steps, and the ``rai.*`` / ``explain.*`` steps downstream of the trained model),
and the deployments serving it (their latest monitoring window). A section with
nothing to report is empty (``[]`` or ``null``); nothing is made up.

The considerations (intended use, limitations, ethical considerations) start as
the text written at registration (revision 0) and each edit is a new
``ModelCardRevision``; ``card_build(revision=k)`` renders the card as of revision k.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ..errors import ApplicationError, NotFound
from ..models import (
    Dataset,
    Deployment,
    ModelAlias,
    ModelCardRevision,
    ModelVersion,
    MonitoringWindow,
    StepRun,
    StepStatus,
)
from ..selectors.runs import steps_downstream
from .audit import audit_record

EDITABLE = ("intended_use", "limitations", "ethical_considerations")
MAX_TEXT = 20_000
TOP_FEATURES = 10
FAIRNESS_KEYS = ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference")
EXPLAIN_BLOCKS = ("explain.shap", "explain.permutation_importance")


# --- considerations ---------------------------------------------------------------


def card_revisions(*, version: ModelVersion) -> list[ModelCardRevision]:
    return list(version.card_revisions.select_related("created_by").order_by("-number"))


def _considerations(version: ModelVersion, revision: int | None) -> tuple[dict[str, str], dict[str, Any]]:
    revisions = version.card_revisions.select_related("created_by")
    row = (revisions.filter(number=revision) if revision is not None else revisions.order_by("-number")).first()
    if revision not in (None, 0) and row is None:
        raise NotFound(f"this card has no revision {revision}", field="revision")
    if row is None or revision == 0:
        return (
            {"intended_use": version.intended_use, "limitations": version.limitations, "ethical_considerations": ""},
            {"number": 0, "by": version.created_by.get_username() if version.created_by else None,
             "at": version.created_at, "generated": True},
        )
    return (
        {f: getattr(row, f) for f in EDITABLE},
        {"number": row.number, "by": row.created_by.get_username() if row.created_by else None,
         "at": row.created_at, "generated": False},
    )


def card_edit(*, user, version: ModelVersion, fields: dict[str, Any]) -> ModelCardRevision:
    """A new revision with ``fields`` changed (the rest carried over); 400 naming a bad field."""
    if not isinstance(fields, dict) or not fields:
        raise ApplicationError(f"send one or more of {', '.join(EDITABLE)}", field="body")
    for name, value in fields.items():
        if name not in EDITABLE:
            raise ApplicationError(f"{name} cannot be edited; the editable fields are {', '.join(EDITABLE)}",
                                   field=name)
        if not isinstance(value, str) or len(value) > MAX_TEXT or "\x00" in value:
            raise ApplicationError(f"{name} is text of at most {MAX_TEXT} characters", field=name)
    with transaction.atomic():
        ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
        current, meta = _considerations(version, None)
        revision = ModelCardRevision.objects.create(
            model_version=version, number=meta["number"] + 1, created_by=user, **{**current, **fields}
        )
        audit_record(
            workspace_id=version.registered_model.workspace_id, user=user, action="model.card_edit", target=version,
            details={"name": version.registered_model.name, "version": version.number, "revision": revision.number,
                     "fields": sorted(fields)},
        )
    return revision


# --- lineage ----------------------------------------------------------------------


def _training_data(version: ModelVersion, steps: dict[str, StepRun]) -> dict[str, Any]:
    sources = [s for s in steps.values() if s.block_key.startswith("dataset.") and s.status == StepStatus.SUCCEEDED]
    shas = {((s.outputs or {}).get("table") or {}).get("sha256") for s in sources} - {None}
    known = {
        d.artifact_id: d
        for d in Dataset.objects.filter(workspace_id=version.registered_model.workspace_id, artifact_id__in=shas)
    }
    datasets = []
    for s in sorted(sources, key=lambda s: s.position):
        sha = ((s.outputs or {}).get("table") or {}).get("sha256")
        stored = known.get(sha)
        datasets.append({
            "node": s.node_id, "block": s.block_key,
            "name": stored.name if stored else (s.params or {}).get("name") or (s.params or {}).get("dataset"),
            "version": stored.version if stored else (s.params or {}).get("version"),
            "sha256": sha, "rows": stored.n_rows if stored else None,
        })
    return {
        "datasets": datasets,
        "training_table": {"sha256": version.training_data_sha256, "rows": version.training_rows},
        "features": version.feature_names,
        "target": version.signature.get("target"),
    }


def _metrics(version: ModelVersion) -> list[dict[str, Any]]:
    rows = []
    for node, values in (version.metrics or {}).items():
        for name, value in (values or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool) and name not in FAIRNESS_KEYS:
                rows.append({"type": name, "value": value, "slice": "overall", "source": node})
    return rows


def _rai(version: ModelVersion, steps: dict[str, StepRun]) -> tuple[list, list, list, list]:
    """(metrics by group, fairness results, data bias reports, top features) from the run's RAI steps."""
    after_model = steps_downstream(steps, version.node_id)
    by_group, fairness, bias, features = [], [], [], []
    for step in sorted(steps.values(), key=lambda s: s.position):
        # A block's report is summarised under summary["outputs"]["report"] (rai.* and explain.* blocks).
        summary = ((step.summary or {}).get("outputs") or {}).get("report") or step.summary or {}
        if step.status != StepStatus.SUCCEEDED or not isinstance(summary, dict):
            continue
        if step.block_key == "rai.dataset_bias":
            bias.append({"node": step.node_id, "by_group": summary.get("by_group"),
                         "label_rate_difference": summary.get("label_rate_difference"),
                         "warnings": summary.get("warnings") or []})
        elif step.node_id not in after_model:
            continue
        elif step.block_key == "rai.fairness":
            sensitive = (step.params or {}).get("sensitive_column") or summary.get("sensitive_column")
            # A multiclass report's numbers are the worst over its classes; its note says which.
            fairness.append({"node": step.node_id, "sensitive": sensitive,
                             **{k: summary.get(k) for k in FAIRNESS_KEYS},
                             **({"ci": summary["ci"]} if "ci" in summary else {}),
                             **({"note": summary["note"]} if isinstance(summary.get("note"), str) else {})})
            for group, values in (summary.get("by_group") or {}).items():
                for name, value in (values or {}).items():
                    if isinstance(value, dict | list):  # a metric's interval, not a metric
                        continue
                    by_group.append({"type": name, "value": value, "slice": str(group), "source": step.node_id})
        elif step.block_key in EXPLAIN_BLOCKS and summary.get("importances"):
            ranked = sorted(summary["importances"], key=lambda r: -abs(r.get("importance") or 0))
            features.append({"node": step.node_id, "method": step.block_key, "features": ranked[:TOP_FEATURES]})
    # Fairness computed by an evaluate step (gates read it there too).
    for node, values in (version.metrics or {}).items():
        if isinstance(values, dict) and any(k in values for k in FAIRNESS_KEYS):
            fairness.append({"node": node, "sensitive": values.get("sensitive"),
                             **{k: values.get(k) for k in FAIRNESS_KEYS}})
    return by_group, fairness, bias, features


def _monitoring(version: ModelVersion) -> list[dict[str, Any]]:
    deployments = list(Deployment.objects.filter(current_revision__model_version=version).order_by("name"))
    out = []
    for deployment in deployments:
        window = MonitoringWindow.objects.filter(deployment=deployment).order_by("-end").first()
        report = window.report if window else {}
        out.append({
            "deployment": deployment.name,
            "status": window.status if window else "insufficient_data",
            "window": {"start": window.start, "end": window.end, "n": window.n} if window else None,
            "dataset_drift": (report.get("drift") or {}).get("dataset_drift"),
            "drift_share": (report.get("drift") or {}).get("share"),
            "performance": report.get("performance"),
            "latency_ms": report.get("latency_ms"),
            "error_rate": report.get("error_rate"),
        })
    return out


def card_build(*, version: ModelVersion, revision: int | None = None) -> dict[str, Any]:
    """The card of ``version`` as of considerations ``revision`` (default: the latest)."""
    model = version.registered_model
    steps = {s.node_id: s for s in StepRun.objects.filter(run_id=version.run_id)} if version.run_id else {}
    considerations, meta = _considerations(version, revision)
    by_group, fairness, bias, features = _rai(version, steps)
    aliases = sorted(ModelAlias.objects.filter(model_version=version).values_list("alias", flat=True))
    owner = version.created_by or model.created_by
    return {
        "model_details": {
            "name": model.name,
            "version": {"number": version.number, "id": version.pk, "created_at": version.created_at,
                        "aliases": aliases},
            "overview": version.description,
            "owners": [{"name": owner.get_username(), "contact": owner.email}] if owner else [],
            "task": version.task,
            "classes": version.classes,
            "architecture": [{"name": s["name"], "class": s["class"]} for s in version.steps],
            "artifact_sha256": version.artifact_sha256,
            "library_versions": version.library_versions,
            "lineage": {"run": version.run_id, "pipeline_version": version.pipeline_version_id,
                        "node": version.node_id},
        },
        "model_parameters": {"data": _training_data(version, steps)},
        "quantitative_analysis": {"performance_metrics": _metrics(version), "by_group": by_group},
        "fairness": fairness,
        "data_bias": bias,
        "explainability": {"top_features": features},
        "considerations": considerations,
        "monitoring": _monitoring(version),
        "revision": meta,
    }


# --- diff and rendering -------------------------------------------------------------

DIFF_SKIP = {("model_details", "version"), ("model_details", "lineage"), ("revision",)}


def _flatten(value: Any, path: tuple = ()) -> dict[tuple, Any]:
    if path in DIFF_SKIP:
        return {}
    if isinstance(value, dict):
        out: dict[tuple, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, (*path, str(key))))
        return out or {path: {}}
    return {path: value}


def card_diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{"path", "from", "to"}]`` of every field that differs (lists compared whole)."""
    a, b = _flatten(old), _flatten(new)
    return [
        {"path": ".".join(path), "from": a.get(path), "to": b.get(path)}
        for path in sorted(set(a) | set(b))
        if a.get(path) != b.get(path)
    ]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def card_markdown(card: dict[str, Any]) -> str:
    d = card["model_details"]
    data = card["model_parameters"]["data"]
    lines = [f"# Model card: {d['name']} v{d['version']['number']}", "", d["overview"] or "", "",
             "## Model details", "",
             f"- Task: {d['task']}", f"- Owners: {', '.join(o['name'] for o in d['owners']) or '—'}",
             f"- Created: {d['version']['created_at']:%Y-%m-%d %H:%M} UTC",
             f"- Aliases: {', '.join(d['version']['aliases']) or '—'}",
             f"- Architecture: {' → '.join(s['class'].rsplit('.', 1)[-1] for s in d['architecture'])}",
             f"- Artifact SHA-256: `{d['artifact_sha256']}`",
             f"- Lineage: run {d['lineage']['run']}, node `{d['lineage']['node']}`", "",
             "## Training data", ""]
    for ds in data["datasets"]:
        version = f"version {ds['version']}, " if ds["version"] is not None else ""
        lines.append(f"- {ds['name'] or ds['node']} ({version}{ds['block']}), SHA-256 `{ds['sha256']}`")
    lines += [f"- Training table: {data['training_table']['rows']} rows, SHA-256 "
              f"`{data['training_table']['sha256']}`", f"- Target: `{data['target']}`",
              f"- Features: {', '.join(data['features'])}", "", "## Metrics", ""]
    qa = card["quantitative_analysis"]
    if qa["performance_metrics"] or qa["by_group"]:
        lines += ["| metric | slice | value | source |", "|---|---|---|---|"]
        lines += [f"| {m['type']} | {m['slice']} | {_fmt(m['value'])} | {m['source']} |"
                  for m in qa["performance_metrics"] + qa["by_group"]]
    else:
        lines.append("No evaluation recorded.")
    lines += ["", "## Fairness", ""]
    if card["fairness"]:
        for f in card["fairness"]:
            lines.append(f"- {f['node']} (sensitive: {_fmt(f.get('sensitive'))}): "
                         + ", ".join(f"{k.replace('_', ' ')} {_fmt(f.get(k))}" for k in FAIRNESS_KEYS)
                         + (f". {f['note']}" if f.get("note") else ""))
    else:
        lines.append("No fairness report in this model's run.")
    lines += ["", "## Top features", ""]
    if card["explainability"]["top_features"]:
        for block in card["explainability"]["top_features"]:
            lines.append(f"{block['method']} ({block['node']}):")
            lines += [f"1. {r['feature']}: {_fmt(r.get('importance'))}" for r in block["features"]]
    else:
        lines.append("No explanation step in this model's run.")
    lines += ["", "## Monitoring", ""]
    if card["monitoring"]:
        lines += [f"- {m['deployment']}: {m['status']}" + (f", drift share {_fmt(m['drift_share'])}"
                                                           if m["drift_share"] is not None else "")
                  for m in card["monitoring"]]
    else:
        lines.append("Not deployed.")
    c = card["considerations"]
    for key, title in (("intended_use", "Intended use"), ("limitations", "Limitations"),
                       ("ethical_considerations", "Ethical considerations")):
        lines += ["", f"## {title}", "", c[key] or "—"]
    r = card["revision"]
    lines += ["", f"_Card revision {r['number']}{' (generated)' if r['generated'] else ''}"
                  f"{', by ' + r['by'] if r['by'] else ''}._", ""]
    return "\n".join(lines)

"""Registering the model a ``model.train`` step trained as a new ModelVersion."""

from __future__ import annotations

import platform
import re
from typing import Any

import pandas as pd
from django.db import transaction

from ..errors import ApplicationError
from ..execution.artifacts import OBJECT, TABLE, ArtifactError
from ..execution.summaries import json_safe
from ..models import ModelVersion, RegisteredModel, Run, StepRun, StepStatus, Task
from .artifacts import artifact_store
from .audit import audit_record

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
TRAIN_BLOCKS = ("model.train", "model.tune")  # the blocks whose `model` output can be registered
EVALUATE_BLOCK = "model.evaluate"


def name_check(name: Any, *, field: str = "name") -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ApplicationError(
            "a name is 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit",
            details={"field": field},
        )
    return name


def library_versions() -> dict[str, str]:
    import joblib
    import numpy
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
    }


def _allows_nan(model) -> bool:
    """Whether missing values reach no step that refuses them (an imputer first, or tolerant steps)."""
    from sklearn.utils import get_tags

    for _, step in getattr(model, "steps", [("model", model)]):
        if "Imputer" in type(step).__name__:
            return True
        try:
            if not get_tags(step).input_tags.allow_nan:
                return False
        except Exception:  # noqa: BLE001 - an estimator without tags: assume it refuses NaN
            return False
    return True


def _nullable_columns(model, features: pd.DataFrame) -> set[str]:
    """The columns the model predicts with when they are blank, found by trying.

    One probe row per column (a training row with that column blanked) in one
    call; if the batch fails, the columns are probed one by one, so a single
    column that refuses blanks does not make every column refuse them.
    """
    columns = list(features.columns)
    if features.empty or not hasattr(model, "predict") or not columns or len(columns) > 500:
        return set()
    base = features.head(1)
    probes = pd.concat([base] * len(columns), ignore_index=True)
    for i, column in enumerate(columns):
        if pd.api.types.is_numeric_dtype(probes[column]) and not pd.api.types.is_bool_dtype(probes[column]):
            probes[column] = probes[column].astype("float64")
        elif not pd.api.types.is_bool_dtype(probes[column]):
            probes[column] = probes[column].astype(object)
        else:
            continue  # booleans have no blank
        probes.loc[i, column] = float("nan")

    def works(rows: pd.DataFrame) -> bool:
        try:
            model.predict(rows)
        except Exception:  # noqa: BLE001 - any refusal means "not nullable"
            return False
        return True

    if works(probes):
        return {c for c in columns if not pd.api.types.is_bool_dtype(features[c])}
    return {c for i, c in enumerate(columns) if works(probes.iloc[[i]])}


def signature_infer(model, table: pd.DataFrame, target: str) -> dict[str, Any]:
    """Feature columns (training order, target and excluded columns left out), dtypes,
    an example row, and which columns may be blank (``nullable``: the model predicts
    with a blank there, e.g. after an imputer or with a NaN-tolerant estimator)."""
    names = getattr(model, "feature_names_in_", None)
    columns = [str(c) for c in names] if names is not None else [str(c) for c in table.columns if c != target]
    features = table[[c for c in columns if c in table.columns]]
    example = features.head(1).astype(object).where(features.head(1).notna(), None).to_dict("records")
    nullable = _nullable_columns(model, features)
    return {
        "inputs": [
            {"name": c, "dtype": str(features[c].dtype), "nullable": c in nullable} for c in features.columns
        ],
        "example": json_safe(example[0]) if example else {},
        "target": target,
        "allow_nan": _allows_nan(model) or (bool(nullable) and nullable == set(map(str, features.columns))),
    }


def _task(model) -> tuple[str, list | None]:
    from sklearn.base import is_classifier, is_regressor

    final = model[-1] if hasattr(model, "steps") else model
    if is_classifier(final):
        return Task.CLASSIFICATION, json_safe(list(getattr(model, "classes_", [])))
    if is_regressor(final):
        return Task.REGRESSION, None
    return Task.OTHER, None


def _steps(model) -> list[dict[str, Any]]:
    """Each step with the parameters that differ from its class defaults."""
    out = []
    for name, est in getattr(model, "steps", [("model", model)]):
        try:
            defaults = type(est)().get_params(deep=False)
        except Exception:  # noqa: BLE001
            defaults = {}
        params = {
            k: json_safe(v) for k, v in est.get_params(deep=False).items()
            if k not in defaults or repr(defaults[k]) != repr(v)
        }
        out.append({"name": name, "class": f"{type(est).__module__}.{type(est).__name__}", "params": params})
    return out


def _card(task: str, steps: list[dict], target: str, rows: int, classes: list | None, metrics: dict) -> dict[str, str]:
    chain = " → ".join(s["class"].rsplit(".", 1)[-1] for s in steps)
    what = (
        f"classifies rows into {len(classes or [])} classes ({', '.join(map(str, (classes or [])[:10]))})"
        if task == Task.CLASSIFICATION
        else "predicts a number" if task == Task.REGRESSION else "transforms rows"
    )
    headline = ""
    for node, m in metrics.items():
        h = (m or {}).get("headline")
        if h:
            headline = f" On held-out data ({node}) its {h['name']} was {h['value']:.4g}."
            break
    return {
        "description": f"A scikit-learn Pipeline ({chain}) that {what}: the column {target!r}, "
        f"learned from {rows} training rows.{headline}",
        "intended_use": "Scoring rows with the same columns and meaning as the training table; "
        "preprocessing is part of the model, so send raw feature values.",
        "limitations": "Trained on one table: predictions on data from a different population, "
        "time or collection process may be worse than the metrics shown. Monitor drift and accuracy "
        "after deploying.",
    }


def model_register(*, user, name: str, run: Run, node_id: str) -> ModelVersion:
    """Register the model that step ``node_id`` of ``run`` trained (model.train or model.tune).

    The caller has validated ``name`` and resolved ``run`` with the editor role
    (``selectors.runs.run_get``). Refusals name the field ``node``: no such node,
    not a training step, did not succeed, no model output.
    """
    steps = {s.node_id: s for s in StepRun.objects.filter(run=run)}
    step = steps.get(node_id)
    trainers = sorted(n for n, s in steps.items() if s.block_key in TRAIN_BLOCKS)
    if step is None:
        raise ApplicationError(
            f"run {run.pk} has no node {node_id!r}; its training nodes are: {', '.join(trainers) or 'none'}",
            details={"field": "node"},
        )
    if step.block_key not in TRAIN_BLOCKS or "model" not in (step.outputs or {}):
        raise ApplicationError(
            f"node {node_id!r} is a {step.block_key} step and produces no model; "
            f"register a model.train or model.tune node: {', '.join(trainers) or 'this run has none'}",
            details={"field": "node"},
        )
    if step.status != StepStatus.SUCCEEDED:
        raise ApplicationError(
            f"node {node_id!r} did not succeed in run {run.pk} (it is {step.status}); "
            "only a trained model can be registered",
            details={"field": "node"},
        )
    model_sha = step.outputs["model"]["sha256"]
    source = (step.inputs or {}).get("table")
    source_step = steps.get(source[0]) if source else None
    table_ref = (source_step.outputs or {}).get(source[1]) if source_step else None
    if not table_ref:
        raise ApplicationError(
            f"the training table of node {node_id!r} is not recorded", details={"field": "node"}
        )
    store = artifact_store()
    try:
        model = store.load(model_sha, OBJECT)
        table = store.load(table_ref["sha256"], TABLE)
    except ArtifactError as exc:
        raise ApplicationError(f"cannot read the model's artifacts: {exc}", status=409, details={"field": "node"}) from exc
    target = getattr(model, "target_", None) or (step.params or {}).get("target", "target")
    task, classes = _task(model)
    metrics = {
        s.node_id: (s.summary or {}).get("metrics")
        for s in steps.values()
        if s.block_key == EVALUATE_BLOCK
        and s.status == StepStatus.SUCCEEDED
        and (s.inputs or {}).get("model") == [node_id, "model"]
        and isinstance((s.summary or {}).get("metrics"), dict)
    }
    report = ((step.summary or {}).get("outputs") or {}).get("report") or {}
    if report.get("kind") == "tuning":
        metrics[f"{node_id} (cross-validation)"] = json_safe({
            report["scoring"]: report.get("best_score"),
            "folds": report.get("folds"),
            "candidates": report.get("candidates"),
            "best_params": report.get("best_params"),
        })
    model_steps = _steps(model)
    card = _card(task, model_steps, target, len(table), classes, metrics)
    with transaction.atomic():
        registered, _ = RegisteredModel.objects.get_or_create(
            workspace_id=run.workspace_id, name=name, defaults={"created_by": user}
        )
        registered = RegisteredModel.objects.select_for_update().get(pk=registered.pk)
        last = registered.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = ModelVersion.objects.create(
            registered_model=registered,
            number=last + 1,
            artifact_sha256=model_sha,
            task=task,
            classes=classes,
            signature=signature_infer(model, table, target),
            metrics=json_safe(metrics),
            run=run,
            step=step,
            pipeline_version=run.pipeline_version,
            node_id=node_id,
            training_data_sha256=table_ref["sha256"],
            training_rows=len(table),
            library_versions=library_versions(),
            steps=model_steps,
            created_by=user,
            **card,
        )
        registered.save(update_fields=["updated_at"])
        audit_record(workspace_id=run.workspace_id, user=user, action="model.register", target=version,
                     details={"name": name, "version": version.number, "run": run.pk, "node": node_id,
                              "artifact_sha256": model_sha})
    return version

"""Pipeline as code: a pipeline as a YAML or JSON document, and back.

The document (``pipeline_document``) holds the graph, the metadata, the
schedules and the triggers, in a fixed key order (node keys ``id``, ``block``,
``params``, ``position``, then the node options sorted; every other mapping
sorted), so two exports of the same pipeline are byte-equal and a change reads
as a small diff. ``version`` is the pipeline's version at export: pushing the
document back (``pipeline_push``) is refused with 409 when someone saved since.
Importing (``pipeline_import``) makes a new pipeline with the same nodes, edges
and params. Webhook triggers are exported as ``{"kind": "webhook"}`` only: their
secret never leaves the server, and an import does not make them again.

``gates`` holds the promotion gates of the registered models the pipeline
registers into (``selectors.delivery.pipeline_registered_models``: models with a
version from one of its runs, or of a deployment retraining with it), as
``{name: {"checks": [...]}}``. Gates belong to the model, not the pipeline: an
import or a push sets them on the model of that name in the target workspace
(with the gates endpoint's role, editor) and warns about a name that has no model
there yet. A pipeline that has registered nothing exports ``gates: {}``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml
from django.db import transaction

from ..access import member_role, role_allows
from ..errors import ApplicationError, PermissionDenied
from ..models import (
    Pipeline,
    PipelineTrigger,
    RegisteredModel,
    Role,
    Schedule,
    TriggerKind,
    Workspace,
)
from ..selectors.delivery import pipeline_registered_models
from .pipelines import MAX_NAME, pipeline_create, pipeline_update
from .promotion import registered_model_gates_set
from .schedules import schedule_check, schedule_create, schedule_set_paused
from .triggers import trigger_create

KIND = "mlops-studio/pipeline"
FORMAT = 1
NODE_KEYS = ("id", "block", "params", "position")
EDGE_KEYS = ("source", "source_port", "target", "target_port")


# --- export ---------------------------------------------------------------------------


def pipeline_document(*, pipeline: Pipeline) -> dict[str, Any]:
    """The pipeline as an ordered document (see the module docstring)."""
    schedules = Schedule.objects.filter(pipeline=pipeline).order_by("created_at", "id")
    triggers = PipelineTrigger.objects.filter(pipeline=pipeline).order_by("created_at", "id")
    return {
        "kind": KIND,
        "format": FORMAT,
        "id": pipeline.pk,
        "version": pipeline.version,
        "name": pipeline.name,
        "description": pipeline.description,
        "graph": _ordered_graph(pipeline.graph),
        "schedules": [_schedule_doc(s) for s in schedules],
        "triggers": [_trigger_doc(t) for t in triggers],
        "gates": {m.name: {"checks": _sorted(m.gates or [])} for m in pipeline_registered_models(pipeline=pipeline)},
    }


def _ordered_graph(graph: Any) -> Any:
    if not isinstance(graph, dict):
        return graph
    out: dict[str, Any] = {}
    out["nodes"] = [_ordered_item(n, NODE_KEYS) for n in graph.get("nodes") or []]
    out["edges"] = [_ordered_item(e, EDGE_KEYS) for e in graph.get("edges") or []]
    for key in sorted(k for k in graph if k not in ("nodes", "edges")):
        out[key] = _sorted(graph[key])
    return out


def _ordered_item(item: Any, first: tuple[str, ...]) -> Any:
    if not isinstance(item, dict):
        return _sorted(item)
    out = {key: _sorted(item[key]) for key in first if key in item}
    out.update((key, _sorted(item[key])) for key in sorted(item) if key not in first)
    return out


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _schedule_doc(schedule: Schedule) -> dict[str, Any]:
    timing: dict[str, Any] = {"cron": schedule.cron} if schedule.cron else {"every_seconds": schedule.every_seconds}
    return {**timing, "paused": schedule.paused}


def _trigger_doc(trigger: PipelineTrigger) -> dict[str, Any]:
    if trigger.kind == TriggerKind.DATASET:
        return {"kind": trigger.kind, "dataset": trigger.dataset_name, "paused": trigger.paused}
    if trigger.kind == TriggerKind.PIPELINE:
        return {"kind": trigger.kind, "pipeline": trigger.source_pipeline_id, "paused": trigger.paused}
    return {"kind": trigger.kind, "paused": trigger.paused}


def document_dump(document: dict[str, Any], *, fmt: str) -> str:
    """YAML or JSON text of the document, keys in the document's order, ending in a newline."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


# --- import and push -----------------------------------------------------------------


def document_check(document: Any) -> dict[str, Any]:
    """The document's parts, checked; raises ApplicationError naming the field at fault."""
    if not isinstance(document, dict):
        raise ApplicationError("the document must be a mapping (an object) with name and graph", field="body")
    kind = document.get("kind", KIND)
    if kind != KIND:
        raise ApplicationError(f"kind must be {KIND!r} (got {kind!r})", field="kind")
    fmt = document.get("format", FORMAT)
    if fmt != FORMAT:
        raise ApplicationError(f"this server reads format {FORMAT} documents (got {fmt!r})", field="format")
    _refuse_non_finite(document)
    name = document.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ApplicationError(f"name must be a non-empty string of at most {MAX_NAME} characters", field="name")
    description = document.get("description") or ""
    if not isinstance(description, str):
        raise ApplicationError("description must be a string", field="description")
    graph = document.get("graph")
    if not isinstance(graph, dict):
        raise ApplicationError('graph must be a mapping {"nodes": [...], "edges": [...]}', field="graph")
    nodes = graph.get("nodes")
    for index, node in enumerate(nodes if isinstance(nodes, list) else []):
        for key in ("params", "position"):
            # As in the JSON API: a node's params and position are mappings when given
            # (YAML's bare "params:" is null, not an empty mapping).
            if isinstance(node, dict) and key in node and not isinstance(node[key], dict):
                raise ApplicationError(
                    f"graph.nodes[{index}].{key} must be a mapping", field=f"graph.nodes[{index}].{key}"
                )
    for key in ("id", "version"):
        value = document.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ApplicationError(f"{key} must be a whole number", field=key)
    return {
        "name": name,
        "description": description,
        "graph": graph,
        "id": document.get("id"),
        "version": document.get("version"),
        "schedules": _schedules_check(document.get("schedules")),
        "triggers": _triggers_check(document.get("triggers")),
        "gates": _gates_check(document.get("gates")),
    }


def _refuse_non_finite(value: Any, path: str = "body") -> None:
    """NaN and infinities are not JSON (PostgreSQL's jsonb refuses them); YAML can spell them."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ApplicationError(f"{path}: {value} is not a finite number", field=path)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ApplicationError(f"{path}: mapping keys must be strings (got {key!r})", field=path)
            _refuse_non_finite(item, key if path == "body" else f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_non_finite(item, f"{path}[{index}]")


def _schedules_check(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApplicationError("schedules must be a list", field="schedules")
    out = []
    for index, item in enumerate(raw):
        field = f"schedules[{index}]"
        if not isinstance(item, dict):
            raise ApplicationError(f"{field} must be a mapping with cron or every_seconds", field=field)
        cron, every = item.get("cron"), item.get("every_seconds")
        if cron is not None and not isinstance(cron, str):
            raise ApplicationError(f"{field}.cron must be a string", field=f"{field}.cron")
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)):
            raise ApplicationError(f"{field}.every_seconds must be a whole number", field=f"{field}.every_seconds")
        paused = item.get("paused", False)
        if not isinstance(paused, bool):
            raise ApplicationError(f"{field}.paused must be true or false", field=f"{field}.paused")
        try:
            cron, every = schedule_check(cron=cron, every_seconds=every)
        except ApplicationError as exc:
            raise ApplicationError(exc.message, field=f"{field}.{exc.field}") from exc
        out.append({"cron": cron or None, "every_seconds": every, "paused": paused})
    return out


def _triggers_check(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApplicationError("triggers must be a list", field="triggers")
    out = []
    for index, item in enumerate(raw):
        field = f"triggers[{index}]"
        if not isinstance(item, dict) or item.get("kind") not in TriggerKind.values:
            raise ApplicationError(
                f"{field} must be a mapping whose kind is one of {', '.join(TriggerKind.values)}", field=f"{field}.kind"
            )
        out.append(item)
    return out


def _gates_check(raw: Any) -> dict[str, list]:
    """The shape only; each model's checks are validated when they are set (against its metrics)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ApplicationError('gates must be a mapping {model name: {"checks": [...]}}', field="gates")
    out = {}
    for name, item in raw.items():
        field = f"gates.{name}"
        if not name.strip() or len(name) > 100:
            raise ApplicationError("a model name in gates is 1–100 characters", field=field)
        if not isinstance(item, dict) or not isinstance(item.get("checks"), list):
            raise ApplicationError(f'{field} must be a mapping {{"checks": [...]}}', field=f"{field}.checks")
        extra = sorted(k for k in item if k != "checks")
        if extra:
            raise ApplicationError(f"{field} takes only checks; {extra[0]!r} is not one", field=f"{field}.{extra[0]}")
        out[name] = item["checks"]
    return out


def _gates_apply(workspace_id: int, user, gates: dict[str, list]) -> list[str]:
    """Set each named model's gates in ``workspace_id``; warnings for names with no model there.

    Refused with 403 naming ``gates`` without the editor role (the gates endpoint's), and
    with 400 naming ``gates.<name>.checks[i]…`` for a check the model cannot take."""
    if not gates:
        return []
    role = member_role(user, workspace_id)
    if not role_allows(role, Role.EDITOR):
        raise PermissionDenied(f"setting a model's gates needs the editor role (yours is {role})", field="gates")
    models = {m.name: m for m in RegisteredModel.objects.filter(workspace_id=workspace_id, name__in=list(gates))}
    warnings = []
    for name, checks in gates.items():
        model = models.get(name)
        if model is None:
            warnings.append(f"gates.{name}: no registered model {name!r} here yet; its gates were not set")
            continue
        try:
            if checks != model.gates:
                registered_model_gates_set(user=user, registered_model=model, checks=checks)
        except ApplicationError as exc:
            raise ApplicationError(
                f"gates.{name}: {exc.message}", field=f"gates.{name}.{exc.field or 'checks'}"
            ) from exc
    return warnings


def pipeline_import(*, workspace: Workspace, user, document: Any) -> tuple[Pipeline, list[str]]:
    """A new pipeline from the document, with its schedules and triggers; returns it and warnings."""
    parts = document_check(document)
    warnings: list[str] = []
    with transaction.atomic():
        pipeline = pipeline_create(
            workspace=workspace, user=user, name=parts["name"], description=parts["description"], graph=parts["graph"]
        )
        for schedule in parts["schedules"]:
            schedule_create(pipeline=pipeline, user=user, **schedule)
        for index, item in enumerate(parts["triggers"]):
            warning = _trigger_import(pipeline, user, item, field=f"triggers[{index}]")
            if warning:
                warnings.append(warning)
        warnings += _gates_apply(workspace.pk, user, parts["gates"])
    return pipeline, warnings


def _trigger_import(pipeline: Pipeline, user, item: dict[str, Any], *, field: str) -> str | None:
    kind = item["kind"]
    if kind == TriggerKind.WEBHOOK:
        return f"{field}: webhook triggers are not imported (their secret is not exported); add one again"
    source = None
    if kind == TriggerKind.PIPELINE:
        source_id = item.get("pipeline")
        if isinstance(source_id, int) and not isinstance(source_id, bool):
            source = Pipeline.objects.filter(pk=source_id, workspace_id=pipeline.workspace_id).first()
        if source is None:
            raise ApplicationError(
                f"{field}.pipeline: no pipeline {source_id!r} in the workspace this is imported into",
                field=f"{field}.pipeline",
            )
    try:
        trigger, _ = trigger_create(pipeline=pipeline, user=user, kind=kind, dataset=item.get("dataset"), source=source)
    except ApplicationError as exc:
        raise ApplicationError(f"{field}: {exc.message}", field=f"{field}.{exc.field or 'kind'}") from exc
    if item.get("paused") is True:
        PipelineTrigger.objects.filter(pk=trigger.pk).update(paused=True)
    return None


def pipeline_push(*, pipeline: Pipeline, user, document: Any) -> Pipeline:
    """Replace the pipeline's name, description, graph and schedules with the document's, and
    set the gates it names (a model it does not name keeps its gates).

    The document must carry the ``version`` it was exported (or last pushed) at; if
    the pipeline was saved since, the push is refused with 409 and nothing changes.
    Triggers are left as they are (a push never drops a webhook secret).
    """
    parts = document_check(document)
    if parts["version"] is None:
        raise ApplicationError(
            "the document must carry the version it was exported at (export it first)", field="version"
        )
    if parts["id"] is not None and parts["id"] != pipeline.pk:
        raise ApplicationError(
            f"this document is pipeline {parts['id']}'s; push it to /api/pipelines/{parts['id']}/import/ "
            "or drop its id to import it as a new pipeline",
            field="id",
        )
    with transaction.atomic():
        pipeline = pipeline_update(
            pipeline=pipeline, user=user, expected_version=parts["version"],
            name=parts["name"], description=parts["description"], graph=parts["graph"],
        )
        if "schedules" in document:
            _schedules_sync(pipeline, user, parts["schedules"])
        _gates_apply(pipeline.workspace_id, user, parts["gates"])
    return pipeline


def _schedules_sync(pipeline: Pipeline, user, wanted: list[dict[str, Any]]) -> None:
    """Keep the schedules whose timing the document still has (their next time stays), drop the
    others, add the new ones; ``paused`` follows the document."""
    existing = {(s.cron or None, s.every_seconds): s for s in Schedule.objects.filter(pipeline=pipeline)}
    for item in wanted:
        kept = existing.pop((item["cron"], item["every_seconds"]), None)
        if kept is None:
            schedule_create(pipeline=pipeline, user=user, **item)
        elif kept.paused != item["paused"]:
            schedule_set_paused(schedule=kept, paused=item["paused"])
    Schedule.objects.filter(pk__in=[s.pk for s in existing.values()]).delete()

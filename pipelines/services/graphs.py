"""Graph checks with the workspace's context (datasets it owns)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..blocks import catalogue
from ..errors import ApplicationError
from ..graph import (
    Graph,
    GraphFormatError,
    Plan,
    PlanStep,
    ValidationResult,
    compile_plan,
    parse_graph,
    validate_graph,
)
from ..inputs import refuse_nul
from ..models import Workspace
from .connections import connection_resolve
from .datasets import dataset_resolve

MAX_NODES = 500
MAX_EDGES = 2000


class GraphInvalid(ApplicationError):
    """The graph has errors; ``details`` carries the validation result."""

    status = 400


def graph_check_format(graph: Any) -> None:
    """Refuse what is not a graph at all; a draft may still be invalid otherwise."""
    refuse_nul(graph, field="graph")
    try:
        parsed = parse_graph(graph)
    except GraphFormatError as exc:
        raise ApplicationError(f"graph: {exc}", details={"field": "graph"}) from exc
    if len(parsed.nodes) > MAX_NODES or len(parsed.edges) > MAX_EDGES:
        raise ApplicationError(
            f"graph: at most {MAX_NODES} nodes and {MAX_EDGES} edges are allowed "
            f"(got {len(parsed.nodes)} nodes, {len(parsed.edges)} edges)",
            details={"field": "graph"},
        )


def graph_validate(*, graph: Any, workspace: Workspace) -> ValidationResult:
    try:
        parsed = parse_graph(graph)
    except GraphFormatError as exc:
        return ValidationResult(errors={}, graph_errors=[str(exc)])

    def check_context(node) -> dict[str, str]:
        if node.block == "dataset.sql" and isinstance(node.params, dict):
            try:
                connection_resolve(workspace=workspace, name=node.params.get("connection"))
            except ApplicationError as exc:
                return {"connection": exc.message}
            return {}
        if node.block != "dataset.upload" or not isinstance(node.params, dict):
            return {}
        ref, version = node.params.get("dataset"), node.params.get("version")
        if not isinstance(ref, str):
            return {}
        try:
            dataset_resolve(workspace=workspace, ref=ref, version=version)
        except ApplicationError as exc:
            return {exc.details.get("field", "dataset"): exc.message}
        return {}

    return validate_graph(
        parsed,
        catalogue(),
        max_nodes=MAX_NODES,
        max_edges=MAX_EDGES,
        param_check=check_context,
        known_columns=_upload_columns(parsed, workspace),
    )


def _upload_columns(graph: Graph, workspace: Workspace) -> dict[str, list[str]]:
    """The stored columns of each ``dataset.upload`` node's dataset (as the run would pin it), by node id.

    A dataset that does not resolve is left out: ``check_context`` reports it on the node.
    """
    known = {}
    for node in graph.nodes:
        if node.block != "dataset.upload" or not isinstance(node.params.get("dataset"), str):
            continue
        try:
            dataset = dataset_resolve(
                workspace=workspace, ref=node.params["dataset"], version=node.params.get("version")
            )
        except ApplicationError:
            continue
        columns = dataset.columns
        if isinstance(columns, list) and all(isinstance(c, dict) and "name" in c for c in columns):
            known[node.id] = [str(c["name"]) for c in columns]
    return known


def graph_compile(*, graph: Any, workspace: Workspace) -> Plan:
    """Validate and compile, or raise GraphInvalid with the errors keyed by node id."""
    result = graph_validate(graph=graph, workspace=workspace)
    if not result.valid:
        raise GraphInvalid(
            "the pipeline has errors; fix the marked nodes and run again", details=result.as_dict()
        )
    plan = compile_plan(parse_graph(graph), catalogue())
    return Plan(steps=[_pin_connection(_pin_dataset(step, workspace), workspace) for step in plan.steps])


def _pin_dataset(step: PlanStep, workspace: Workspace) -> PlanStep:
    """A ``dataset.upload`` step with its dataset resolved to one upload, now.

    Its params become ``{"dataset": <that upload's sha256>, "version": n,
    "name": …}``: the block loads exactly that table, the cache key changes
    when a new version is followed, and the step's params record which
    version the run used.
    """
    if step.block_key != "dataset.upload":
        return step
    dataset = dataset_resolve(
        workspace=workspace, ref=step.params["dataset"], version=step.params.get("version")
    )
    params = {"dataset": dataset.artifact_id, "version": dataset.version, "name": dataset.name}
    return replace(step, params=params)


def _pin_connection(step: PlanStep, workspace: Workspace) -> PlanStep:
    """A ``dataset.sql`` step with its connection resolved to one row of the workspace, now.

    Its params gain ``connection_id`` (never a credential: params are stored
    and shown); the worker answers the block's ``ctx.connection(id)`` for the
    run's workspace only. The step always reruns (``cache: always_rerun``):
    the query's result changes while its params do not.
    """
    if step.block_key != "dataset.sql":
        return step
    connection = connection_resolve(workspace=workspace, name=step.params["connection"])
    raw_node = {**step.raw_node, "cache": "always_rerun"}
    return replace(step, params={**step.params, "connection_id": connection.pk}, raw_node=raw_node)

"""Compile a valid graph into a plan: steps in dependency order with resolved inputs."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from pipelines.blocks.params import validate_params

from .canonical import canonical_params
from .errors import GraphInvalidError
from .spec import Graph
from .topology import successors, topological_order
from .validate import Catalogue, validate_graph

__all__ = ["Plan", "PlanStep", "canonical_params", "compile_plan"]


@dataclass(frozen=True)
class PlanStep:
    """One node, ready to run once every node in ``depends_on`` has.

    ``params`` are validated with defaults filled in (what ``Block.run`` gets
    and what the cache key hashes); ``inputs`` maps each wired input port to
    ``(source node id, source output port)``; ``depends_on`` lists the distinct
    source nodes in plan order; ``raw_node`` is the node's JSON (``cache``,
    ``timeout_seconds``, ``label`` …).
    """

    node_id: str
    block_key: str
    block_version: str
    params: dict[str, Any]
    inputs: dict[str, tuple[str, str]]
    depends_on: tuple[str, ...]
    raw_node: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """Steps in a deterministic topological order (Kahn; ties go to graph order)."""

    steps: list[PlanStep]
    _by_id: dict[str, PlanStep] = field(init=False, repr=False, compare=False)
    _children: dict[str, list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        children: dict[str, list[str]] = {s.node_id: [] for s in self.steps}
        for step in self.steps:
            for parent in step.depends_on:
                children[parent].append(step.node_id)
        object.__setattr__(self, "_by_id", {s.node_id: s for s in self.steps})
        object.__setattr__(self, "_children", children)

    @property
    def node_ids(self) -> list[str]:
        return [s.node_id for s in self.steps]

    def step(self, node_id: str) -> PlanStep:
        """The step for ``node_id``; ``KeyError`` if the plan has none."""
        try:
            return self._by_id[node_id]
        except KeyError:
            raise KeyError(f"no step '{node_id}' in the plan") from None

    def downstream(self, node_id: str) -> set[str]:
        """Every node that (transitively) consumes ``node_id``'s outputs, not itself."""
        self.step(node_id)
        return _reach(node_id, self._children)

    def upstream(self, node_id: str) -> set[str]:
        """Every node ``node_id`` (transitively) depends on, not itself."""
        parents = {s.node_id: list(s.depends_on) for s in self.steps}
        self.step(node_id)
        return _reach(node_id, parents)


def compile_plan(graph: Graph, catalogue: Catalogue) -> Plan:
    """Compile a graph that ``validate_graph`` accepts.

    Validates again (without size limits or context checks, which are the
    caller's business) and raises ``GraphInvalidError`` carrying the
    ``ValidationResult`` if the graph is not valid, so a plan is never built
    from a graph with a cycle, an unknown block or an unwired input.
    """
    result = validate_graph(graph, catalogue, max_nodes=sys.maxsize, max_edges=sys.maxsize)
    if not result.valid:
        raise GraphInvalidError(result)

    succ = successors(graph.node_ids, ((e.source, e.target) for e in graph.edges))
    order = topological_order(graph.node_ids, succ)
    assert order is not None  # validate_graph rejects cycles
    position = {node_id: i for i, node_id in enumerate(order)}
    nodes = {n.id: n for n in graph.nodes}
    incoming: dict[str, dict[str, tuple[str, str]]] = {n.id: {} for n in graph.nodes}
    for edge in graph.edges:
        incoming[edge.target][edge.target_port] = (edge.source, edge.source_port)

    steps: list[PlanStep] = []
    for node_id in order:
        node = nodes[node_id]
        block = catalogue.get(node.block)
        assert block is not None  # validate_graph rejects unknown blocks
        params, _ = validate_params(block.params_schema, node.params)
        wired = incoming[node_id]
        inputs = {p.name: wired[p.name] for p in block.inputs if p.name in wired}
        sources = {src for src, _ in inputs.values()}
        steps.append(
            PlanStep(
                node_id=node_id,
                block_key=block.key,
                block_version=block.version,
                params=params,
                inputs=inputs,
                depends_on=tuple(sorted(sources, key=position.__getitem__)),
                raw_node=node.raw,
            )
        )
    return Plan(steps=steps)


def _reach(start: str, adjacency: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(adjacency.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(adjacency.get(node, ()))
    return seen

"""The graph JSON as typed values.

``parse_graph`` is strict about *structure* and lenient about *meaning*: JSON
that no editor would produce (not an object, nodes not a list, a node without a
string id, duplicate ids, an edge without its four string fields, params that
are not an object) raises ``GraphFormatError``, which the HTTP layer turns into
a 400. Everything a person can get wrong on the canvas (unknown block, bad
params, wrong ports, dangling edges, cycles) parses fine and is reported by
``validate_graph``, keyed by node id.

Missing ``nodes``/``edges``/``params``/``position`` default to empty, so ``{}``
is an (empty) graph. Extra keys on nodes and edges (``label``, ``cache``,
``timeout_seconds``, an edge ``id`` …) are kept in ``raw``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .errors import GraphFormatError

__all__ = ["Edge", "Graph", "Node", "parse_graph"]


@dataclass(frozen=True)
class Node:
    """One block on the canvas. ``raw`` is the node's full JSON object (a copy)."""

    id: str
    block: str
    params: dict[str, Any]
    position: dict[str, Any]
    raw: dict[str, Any]


@dataclass(frozen=True)
class Edge:
    """An output port wired to an input port. Equality ignores ``raw``."""

    source: str
    source_port: str
    target: str
    target_port: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def describe(self) -> str:
        return f"{self.source}.{self.source_port} → {self.target}.{self.target_port}"

    def as_dict(self) -> dict[str, str]:
        return {
            "source": self.source,
            "source_port": self.source_port,
            "target": self.target,
            "target_port": self.target_port,
        }


@dataclass(frozen=True)
class Graph:
    nodes: list[Node]
    edges: list[Edge]

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    @property
    def node_ids(self) -> list[str]:
        return [n.id for n in self.nodes]


_EDGE_FIELDS = ("source", "source_port", "target", "target_port")


def parse_graph(data: Any) -> Graph:
    """Turn graph JSON (already decoded) into a ``Graph``.

    Raises ``GraphFormatError`` for structural garbage (see the module doc);
    never raises anything else. Does not look at the catalogue. The input is
    deep-copied, so later changes to ``data`` do not leak into the graph.
    """
    if not isinstance(data, dict):
        raise GraphFormatError(f"the graph must be a JSON object, got {_kind(data)}")
    raw_nodes = data.get("nodes", [])
    raw_edges = data.get("edges", [])
    if not isinstance(raw_nodes, list):
        raise GraphFormatError(f"'nodes' must be a list, got {_kind(raw_nodes)}")
    if not isinstance(raw_edges, list):
        raise GraphFormatError(f"'edges' must be a list, got {_kind(raw_edges)}")

    nodes: list[Node] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_nodes):
        node = _parse_node(index, raw)
        if node.id in seen:
            raise GraphFormatError(f"node id '{node.id}' is used twice", node_id=node.id)
        seen.add(node.id)
        nodes.append(node)

    edges = [_parse_edge(index, raw) for index, raw in enumerate(raw_edges)]
    return Graph(nodes=nodes, edges=edges)


def _parse_node(index: int, raw: Any) -> Node:
    if not isinstance(raw, dict):
        raise GraphFormatError(f"node #{index + 1} must be a JSON object, got {_kind(raw)}")
    node_id = raw.get("id")
    if not isinstance(node_id, str) or not node_id:
        raise GraphFormatError(f"node #{index + 1} needs an 'id' that is a non-empty string")
    block = raw.get("block")
    if not isinstance(block, str) or not block:
        raise GraphFormatError(
            f"node '{node_id}' needs a 'block' that is a non-empty string", node_id=node_id
        )
    params = raw.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise GraphFormatError(
            f"node '{node_id}': 'params' must be a JSON object, got {_kind(params)}",
            node_id=node_id,
        )
    position = raw.get("position", {})
    if position is None:
        position = {}
    if not isinstance(position, dict):
        raise GraphFormatError(
            f"node '{node_id}': 'position' must be a JSON object, got {_kind(position)}",
            node_id=node_id,
        )
    raw = copy.deepcopy(raw)
    return Node(
        id=node_id,
        block=block,
        params=copy.deepcopy(params),
        position=copy.deepcopy(position),
        raw=raw,
    )


def _parse_edge(index: int, raw: Any) -> Edge:
    if not isinstance(raw, dict):
        raise GraphFormatError(f"edge #{index + 1} must be a JSON object, got {_kind(raw)}")
    missing = [f for f in _EDGE_FIELDS if f not in raw]
    if missing:
        raise GraphFormatError(
            f"edge #{index + 1} is missing {', '.join(repr(f) for f in missing)}"
        )
    bad = [f for f in _EDGE_FIELDS if not isinstance(raw[f], str) or not raw[f]]
    if bad:
        raise GraphFormatError(
            f"edge #{index + 1}: {', '.join(repr(f) for f in bad)} must be non-empty strings"
        )
    return Edge(*(raw[f] for f in _EDGE_FIELDS), raw=copy.deepcopy(raw))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__

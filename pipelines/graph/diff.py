"""Compare two graphs: what "compare two runs" and version diffs show."""

from __future__ import annotations

from typing import Any

from .spec import Edge, Graph, Node, parse_graph

__all__ = ["graph_diff"]

# Layout only: moving a block on the canvas does not change the pipeline.
_IGNORED_NODE_KEYS = frozenset({"id", "block", "params", "position"})


def graph_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What changed from graph JSON ``old`` to ``new`` (nodes matched by id).

    Returns::

        {"nodes": {"added":   [{"id", "block"}, ...],          # in new's order
                   "removed": [{"id", "block"}, ...],          # in old's order
                   "changed": [{"id",
                                "block":  {"old", "new"},      # only if the block changed
                                "params": {name: {"old", "new"}},
                                "fields": {key: {"old", "new"}}  # label, cache, timeout_seconds …
                               }, ...]},
         "edges": {"added": [edge, ...], "removed": [edge, ...]},
         "identical": bool}

    In a ``{"old", "new"}`` pair a side is absent when the param or field is not
    set on that side (``{"new": 2}``: set in ``new`` only), so an explicit
    ``null`` stays distinguishable. ``params`` and ``fields`` are present only
    when non-empty. Positions are ignored. Edges are compared on their four
    endpoint fields and given as ``{"source", "source_port", "target",
    "target_port"}``. Raises ``GraphFormatError`` if either graph is not
    structurally valid.
    """
    old_graph, new_graph = parse_graph(old), parse_graph(new)
    old_nodes = {n.id: n for n in old_graph.nodes}
    new_nodes = {n.id: n for n in new_graph.nodes}

    added = [_summary(n) for n in new_graph.nodes if n.id not in old_nodes]
    removed = [_summary(n) for n in old_graph.nodes if n.id not in new_nodes]
    changed = []
    for node in new_graph.nodes:
        before = old_nodes.get(node.id)
        if before is not None:
            change = _node_change(before, node)
            if change is not None:
                changed.append(change)

    edges_added = _edges_only_in(new_graph, old_graph)
    edges_removed = _edges_only_in(old_graph, new_graph)
    return {
        "nodes": {"added": added, "removed": removed, "changed": changed},
        "edges": {"added": edges_added, "removed": edges_removed},
        "identical": not (added or removed or changed or edges_added or edges_removed),
    }


def _summary(node: Node) -> dict[str, str]:
    return {"id": node.id, "block": node.block}


def _node_change(old: Node, new: Node) -> dict[str, Any] | None:
    change: dict[str, Any] = {"id": new.id}
    if old.block != new.block:
        change["block"] = {"old": old.block, "new": new.block}
    params = _dict_changes(old.params, new.params, ignore=frozenset())
    if params:
        change["params"] = params
    fields = _dict_changes(old.raw, new.raw, ignore=_IGNORED_NODE_KEYS)
    if fields:
        change["fields"] = fields
    return change if len(change) > 1 else None


def _dict_changes(
    old: dict[str, Any], new: dict[str, Any], *, ignore: frozenset[str]
) -> dict[str, dict[str, Any]]:
    changes: dict[str, dict[str, Any]] = {}
    for key in [*old, *(k for k in new if k not in old)]:
        if key in ignore:
            continue
        if key in old and key in new and _same(old[key], new[key]):
            continue
        pair: dict[str, Any] = {}
        if key in old:
            pair["old"] = old[key]
        if key in new:
            pair["new"] = new[key]
        changes[key] = pair
    return changes


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python, but a param switched from 1 to true did change.
    return type(a) is type(b) and a == b


def _edges_only_in(graph: Graph, other: Graph) -> list[dict[str, str]]:
    others: set[Edge] = set(other.edges)
    seen: set[Edge] = set()
    only: list[dict[str, str]] = []
    for edge in graph.edges:
        if edge not in others and edge not in seen:
            seen.add(edge)
            only.append(edge.as_dict())
    return only

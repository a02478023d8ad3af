"""Build graph JSON in code: the demo pipelines, tests and benchmarks all use this one builder.

    graph = (
        GraphBuilder()
        .node("load", "dataset.builtin", name="iris", at=(0, 0))
        .node("split", "data.split", test_size=0.25)
        .edge("load.table", "split.table")
        .build()
    )

``build()`` returns the stored graph shape (DESIGN.md, "Graph JSON"): nodes as
``{"id", "block", "params"[, "position"][, options…]}`` in the order they were
added, edges as ``{"source", "source_port", "target", "target_port"}``. The
builder checks nothing: an edge to a missing node or a duplicate id is written
as given, so tests can build broken graphs for the validator to find.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


class GraphBuilder:
    def __init__(self) -> None:
        self._nodes: list[dict[str, Any]] = []
        self._edges: list[dict[str, str]] = []

    def node(
        self,
        node_id: str,
        block: str,
        /,
        *,
        at: tuple[int, int] | None = None,
        params: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        **more_params: Any,
    ) -> GraphBuilder:
        """Add a node; keyword arguments are its params.

        ``at`` is its canvas position (x, y); ``params`` is for param names that
        are not Python identifiers or clash with ``at``/``params``/``options``;
        ``options`` are the node options beside params (``cache``,
        ``timeout_seconds``, ``queue``, ``label``).
        """
        node: dict[str, Any] = {
            "id": node_id,
            "block": block,
            "params": {**(params or {}), **more_params},
        }
        if at is not None:
            node["position"] = {"x": at[0], "y": at[1]}
        node.update(options or {})
        self._nodes.append(node)
        return self

    def edge(self, source: str, target: str) -> GraphBuilder:
        """Wire ``"node.port"`` to ``"node.port"`` (the last dot splits: ids may hold dots)."""
        source_node, source_port = source.rsplit(".", 1)
        target_node, target_port = target.rsplit(".", 1)
        self._edges.append(
            {
                "source": source_node,
                "source_port": source_port,
                "target": target_node,
                "target_port": target_port,
            }
        )
        return self

    def build(self) -> dict[str, list[dict[str, Any]]]:
        """The graph JSON; a fresh copy each call, so changing it leaves the builder as it was."""
        return {"nodes": copy.deepcopy(self._nodes), "edges": copy.deepcopy(self._edges)}

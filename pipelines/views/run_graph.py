"""The run detail page's interactive graph: the data its React entry reads.

``frontend/src/runGraph.tsx`` mounts the editor's node components read-only into
``#run-graph-root`` from the JSON built here (embedded with ``json_script`` as
``#run-graph-data``) plus ``GET /api/blocks/``. When the bundle is not built the
page shows the server-drawn SVG (graph_svg.py) instead, and the same SVG sits in
``<noscript>`` for browsers without JavaScript.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..models import Run

RUN_GRAPH_ENTRY = "src/runGraph.tsx"

# Rough size of an editor node (frontend/src/editor.css .ed-node is 190 px wide;
# height grows with its port rows) and of the page's card, to reserve the
# canvas height before the browser measures anything (no jump on the live reloads).
NODE_W = 190
NODE_H = 150
CANVAS_W = 1150
MIN_HEIGHT = 280
MAX_HEIGHT = 560


def run_graph_height(graph: Mapping[str, Any]) -> int:
    """Pixels of canvas height that show ``graph`` fitted at a readable zoom (≤ 1)."""
    xs, ys = [], []
    for node in graph.get("nodes") or []:
        position = node.get("position") if isinstance(node, Mapping) else None
        if isinstance(position, Mapping):
            try:
                xs.append(float(position.get("x", 0)))
                ys.append(float(position.get("y", 0)))
            except (TypeError, ValueError):
                continue
    if not xs:
        return MIN_HEIGHT
    width = max(xs) - min(xs) + NODE_W
    height = max(ys) - min(ys) + NODE_H
    zoom = min(1.0, (CANVAS_W * 0.88) / width)
    return int(max(MIN_HEIGHT, min(MAX_HEIGHT, height * zoom / 0.88)))


def run_graph_data(run: Run, steps: Iterable[Any]) -> dict[str, Any]:
    """The JSON ``runGraph.tsx`` reads (its ``RunGraphData`` type).

    ``steps`` are the page's step views (``.step``, ``.cached_from_run``,
    ``.headline``): the headline is the metric the step section shows too,
    from its metrics or from a tuning report.
    """
    version = run.pipeline_version
    return {
        "run": {
            "id": run.pk,
            "status": run.status,
            "steps_total": run.steps_total,
            "steps_done": run.steps_done,
            "headline": run.headline if isinstance(run.headline, dict) else None,
            "error": run.error or "",
        },
        "pipeline": {
            "id": run.pipeline_id,
            "name": run.pipeline.name,
            "workspace": run.workspace_id,
            "version": version.number,
        },
        "graph": version.graph or {"nodes": [], "edges": []},
        "steps": [
            {
                "node_id": view.step.node_id,
                "block_key": view.step.block_key,
                "status": view.step.status,
                "cache_hit": bool(view.step.cache_hit),
                "cached_from_run": view.cached_from_run,
                "headline": _headline(view.headline),
                "error": view.step.error or "",
            }
            for view in steps
        ],
    }


def _headline(value: Any) -> dict | None:
    if isinstance(value, Mapping) and isinstance(value.get("value"), int | float):
        return {"name": str(value.get("name", "")), "value": value["value"]}
    return None

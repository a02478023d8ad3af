"""A picture of a pipeline graph as inline SVG, coloured by step status.

Used by the run detail page. Nodes sit at their editor positions (``position``
{x, y}, shifted so the top-left node touches the margin); edges are cubic curves
from an output port on a node's right side to an input port on the target's
left side. Port anchors follow the block's declared port order, so two edges
leaving ``split`` (train, test) do not overlap. Everything is escaped: node ids,
labels and params come from users.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from django.utils.safestring import SafeString, mark_safe

from ..models import StepStatus

NODE_W = 164
NODE_H = 58
MARGIN = 24
MIN_GAP = 56  # horizontal room kept between neighbouring nodes for the edge curves

# status -> css modifier (colours live in app.css, classes .g-node--<state>)
_STATE = {
    StepStatus.SUCCEEDED: "succeeded",
    StepStatus.FAILED: "failed",
    StepStatus.RUNNING: "running",
    StepStatus.QUEUED: "waiting",
    StepStatus.PENDING: "waiting",
    StepStatus.SKIPPED: "skipped",
    StepStatus.CANCELLED: "cancelled",
}


def block_label(block_key: str) -> str:
    """The catalogue's label for a block key; the key's last segment if unknown."""
    try:
        from ..blocks import catalogue

        block = catalogue().get(block_key)
    except Exception:  # the catalogue failing must not take a history page down
        block = None
    if block is not None:
        return block.label
    return block_key.rsplit(".", 1)[-1] if block_key else "?"


def _ports(block_key: str) -> tuple[list[str], list[str]]:
    try:
        from ..blocks import catalogue

        block = catalogue().get(block_key)
    except Exception:
        block = None
    if block is None:
        return [], []
    return [p.name for p in block.inputs], [p.name for p in block.outputs]


def _anchor(ports: list[str], port: str, top: float) -> float:
    if port in ports:
        return top + NODE_H * (ports.index(port) + 1) / (len(ports) + 1)
    return top + NODE_H / 2


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _x_scale(points: list[tuple[float, float]]) -> float:
    """Stretch x so that nodes side by side (overlapping rows) keep MIN_GAP between them.

    Editors place nodes on their own grid; our boxes may be wider than theirs."""
    closest = None
    for i, (x1, y1) in enumerate(points):
        for x2, y2 in points[i + 1 :]:
            dx = abs(x2 - x1)
            if dx > 0 and abs(y2 - y1) < NODE_H * 2.5:
                closest = dx if closest is None else min(closest, dx)
    if closest is None:
        return 1.0
    return min(2.5, max(1.0, (NODE_W + MIN_GAP) / closest))


def graph_svg(graph: Mapping[str, Any], steps: Mapping[str, Any] | None = None) -> SafeString:
    """Render ``graph`` (graph JSON) as an ``<svg>``; ``steps`` maps node id to a
    StepRun-like object with ``status`` and ``cache_hit`` (absent: not run)."""
    steps = steps or {}
    nodes = [n for n in graph.get("nodes", []) if isinstance(n, dict) and "id" in n]
    if not nodes:
        return mark_safe('<p class="muted">This graph has no nodes.</p>')

    def pos(node: dict) -> tuple[float, float]:
        p = node.get("position") or {}
        try:
            return float(p.get("x", 0)), float(p.get("y", 0))
        except (TypeError, ValueError):
            return 0.0, 0.0

    points = [pos(n) for n in nodes]
    min_x, min_y = min(x for x, _ in points), min(y for _, y in points)
    scale = _x_scale(points)
    boxes: dict[str, tuple[float, float]] = {}
    for node, (x, y) in zip(nodes, points, strict=True):
        boxes[str(node["id"])] = ((x - min_x) * scale + MARGIN, y - min_y + MARGIN)
    width = max(x for x, _ in boxes.values()) + NODE_W + MARGIN
    height = max(y for _, y in boxes.values()) + NODE_H + MARGIN
    ports = {str(n["id"]): _ports(str(n.get("block", ""))) for n in nodes}

    parts: list[str] = [
        f'<svg class="graph" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'style="max-width:{width:.0f}px" role="img" aria-label="Pipeline graph" '
        'xmlns="http://www.w3.org/2000/svg">',
        '<defs><marker id="g-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" '
        'class="g-arrowhead"/></marker>'
        '<marker id="g-arrow-done" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" '
        'class="g-arrowhead g-arrowhead--done"/></marker></defs>',
    ]

    for edge in graph.get("edges", []):
        if not isinstance(edge, dict):
            continue
        src, dst = str(edge.get("source")), str(edge.get("target"))
        if src not in boxes or dst not in boxes:
            continue
        sx, sy_top = boxes[src]
        tx, ty_top = boxes[dst]
        x1 = sx + NODE_W
        y1 = _anchor(ports[src][1], str(edge.get("source_port")), sy_top)
        x2 = tx - 2
        y2 = _anchor(ports[dst][0], str(edge.get("target_port")), ty_top)
        bend = max(40.0, abs(x2 - x1) / 2)
        state = getattr(steps.get(src), "status", "")
        edge_class, marker = (
            ("g-edge g-edge--done", "g-arrow-done")
            if state == StepStatus.SUCCEEDED
            else ("g-edge", "g-arrow")
        )
        title = escape(f"{src}.{edge.get('source_port')} → {dst}.{edge.get('target_port')}")
        parts.append(
            f'<path class="{edge_class}" d="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} '
            f'{x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" '
            f'marker-end="url(#{marker})">'
            f"<title>{title}</title></path>"
        )

    for node in nodes:
        node_id = str(node["id"])
        x, y = boxes[node_id]
        step = steps.get(node_id)
        status = getattr(step, "status", None)
        cached = bool(getattr(step, "cache_hit", False)) and status == StepStatus.SUCCEEDED
        state = _STATE.get(status or "", "idle")
        label = block_label(str(node.get("block", "")))
        classes = f"g-node g-node--{state}" + (" g-node--cached" if cached else "")
        status_text = "cached" if cached else (status or "not run")
        parts.append(f'<a href={quoteattr("#step-" + node_id)} class="g-link">')
        parts.append(f'<g class="{classes}" transform="translate({x:.1f},{y:.1f})">')
        parts.append(f"<title>{escape(f'{node_id} — {label} ({status_text})')}</title>")
        parts.append(f'<rect class="g-box" width="{NODE_W}" height="{NODE_H}" rx="9"/>')
        parts.append(f'<rect class="g-stripe" width="5" height="{NODE_H}" rx="2"/>')
        parts.append(f'<text class="g-id" x="16" y="24">{escape(_short(node_id, 16))}</text>')
        parts.append(f'<text class="g-label" x="16" y="43">{escape(_short(label, 21))}</text>')
        if cached:
            parts.append(
                f'<g transform="translate({NODE_W - 62},-8)"><rect class="g-tag" width="50" '
                'height="16" rx="8"/><text class="g-tag-text" x="25" y="12" '
                'text-anchor="middle">cached</text></g>'
            )
        elif status:
            parts.append(f'<circle class="g-dot" cx="{NODE_W - 14}" cy="16" r="5"/>')
        parts.append("</g></a>")

    parts.append("</svg>")
    return mark_safe("".join(parts))

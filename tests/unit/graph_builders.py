"""Stub blocks and a tiny graph builder for the graph tests (no real catalogue)."""

from __future__ import annotations

from pipelines.blocks.base import Block


def _run(ctx, inputs, params):
    return {}


def stub_block(key, inputs=(), outputs=(), version="1", **properties) -> Block:
    """A block with the given ports; ``properties`` become its parameter schema."""
    return Block(
        key=key,
        label=key,
        category="Other estimators",
        description="a stub",
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        params_schema={
            "type": "object",
            "properties": properties,
            "required": [],
            "additionalProperties": False,
        },
        run=_run,
        version=version,
    )


class GraphBuilder:
    """``GraphBuilder().node("a", "stub.source").edge("a.table", "b.table").data()``."""

    def __init__(self):
        self.nodes, self.edges = [], []

    def node(self, node_id, block, **params):
        self.nodes.append({"id": node_id, "block": block, "params": params})
        return self

    def edge(self, source, target):
        (src, src_port), (dst, dst_port) = source.split("."), target.split(".")
        self.edges.append(
            {"source": src, "source_port": src_port, "target": dst, "target_port": dst_port}
        )
        return self

    def data(self) -> dict:
        return {"nodes": self.nodes, "edges": self.edges}

"""Stub blocks for the graph tests (no real catalogue); graphs come from pipelines.graph.builder."""

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

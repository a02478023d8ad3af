"""Which columns flow along each table edge, and the column params that name missing ones.

Plain Python, no Django, no pandas. Columns are known at a source when its
block says so (``dataset.builtin``'s fixed columns) or when the caller knows
them (``known``: an uploaded dataset's stored columns, by node id). They flow
through every block that declares an ``output_columns`` rule (``data.split``
keeps them, the ``table.*`` blocks compute theirs); after any other block they
are unknown, and an unknown table is never reported on: only a param naming a
column that a known upstream table lacks is an error, e.g.
``target: column 'target' is not in the table (columns: a, b, churned)``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pipelines.blocks.base import TABLE, BlockError
from pipelines.blocks.params import validate_params

from .spec import Graph
from .topology import successors, topological_order

if TYPE_CHECKING:
    from .validate import Catalogue

__all__ = ["column_errors", "propagate_columns"]

logger = logging.getLogger(__name__)

MAX_SHOWN = 20

# node id → {output port: column names, or None when unknown}
ColumnMap = dict[str, dict[str, "list[str] | None"]]


def column_errors(
    graph: Graph,
    catalogue: Catalogue,
    *,
    known: Mapping[str, Sequence[str]] | None = None,
    skip: Collection[str] = (),
) -> dict[str, list[str]]:
    """Messages keyed by node id for column params that cannot work with the known columns.

    ``skip`` holds nodes already reported invalid: they are not checked and
    their outputs count as unknown, so one mistake is not reported again below.
    """
    return _walk(graph, catalogue, known or {}, set(skip))[1]


def propagate_columns(
    graph: Graph, catalogue: Catalogue, *, known: Mapping[str, Sequence[str]] | None = None
) -> ColumnMap:
    """The columns of every node's table outputs (None where unknown); a cycle knows nothing."""
    return _walk(graph, catalogue, known or {}, set())[0]


def _walk(
    graph: Graph, catalogue: Catalogue, known: Mapping[str, Sequence[str]], skip: set[str]
) -> tuple[ColumnMap, dict[str, list[str]]]:
    outputs: ColumnMap = {}
    errors: dict[str, list[str]] = {}
    order = topological_order(
        graph.node_ids, successors(graph.node_ids, ((e.source, e.target) for e in graph.edges))
    )
    if order is None:
        return outputs, errors
    incoming: dict[str, dict[str, tuple[str, str]]] = {}
    for edge in graph.edges:
        incoming.setdefault(edge.target, {})[edge.target_port] = (edge.source, edge.source_port)
    nodes = {n.id: n for n in graph.nodes}

    for node_id in order:
        node = nodes[node_id]
        outputs[node_id] = {}
        block = catalogue.get(node.block)
        if block is None or node_id in skip:
            continue
        params, param_errors = validate_params(block.params_schema, node.params)
        if param_errors:
            continue
        tables = [p.name for p in block.inputs if p.type == TABLE]
        columns_in = {
            port: outputs.get(src, {}).get(src_port)
            for port, (src, src_port) in incoming.get(node_id, {}).items()
            if port in tables
        }
        messages = _named_column_errors(block.column_params, params, columns_in, len(tables) > 1)
        produced: Mapping[str, Any] = {}
        if not messages and block.output_columns is not None:
            try:
                produced = block.output_columns(columns_in, params)
            except BlockError as exc:
                messages.append(f"{exc.param}: {exc.message}" if exc.param else exc.message)
            except Exception:  # a bug in a rule must not turn validation into a 500
                logger.exception("column rule of %s failed on node %s", block.key, node_id)
                produced = {}
        if messages:
            errors[node_id] = messages
            continue
        if node_id in known:
            produced = {p.name: list(known[node_id]) for p in block.outputs if p.type == TABLE}
        outputs[node_id] = {
            port: (list(cols) if cols is not None else None) for port, cols in produced.items()
        }
    return outputs, errors


def _named_column_errors(
    column_params: Sequence[str],
    params: Mapping[str, Any],
    columns_in: Mapping[str, list[str] | None],
    several_tables: bool,
) -> list[str]:
    """``param: column 'x' is not in the table (…)`` for each column param naming a missing column."""
    messages = []
    for name in column_params:
        value = params.get(name)
        wanted = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        for port, columns in columns_in.items():
            if columns is None:
                continue
            where = f"the {port} table" if several_tables else "the table"
            missing = [c for c in wanted if isinstance(c, str) and c not in set(columns)]
            if missing:
                messages.append(
                    f"{name}: column '{missing[0]}' is not in {where} (columns: {_listing(columns)})"
                )
                break
    return messages


def _listing(columns: Sequence[str]) -> str:
    shown = [str(c) for c in columns[:MAX_SHOWN]]
    if len(columns) > MAX_SHOWN:
        shown.append(f"… ({len(columns) - MAX_SHOWN} more)")
    return ", ".join(shown) if shown else "none"

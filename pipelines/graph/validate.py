"""Validate a whole graph against the block catalogue, errors keyed by node id.

One pass reports every independent problem, so the canvas can mark all failing
nodes at once. An upstream failure is not reported again below it: edges that
leave a node whose block is unknown are taken on trust (the input counts as
connected, its type is not compared), so only the unknown block is flagged.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pipelines.blocks.params import NON_PARAM_KEY, validate_params

from .columns import column_errors
from .spec import Edge, Graph, Node
from .topology import cycles_through, successors

if TYPE_CHECKING:
    from pipelines.blocks.base import Block

__all__ = ["Catalogue", "ValidationResult", "validate_graph"]

DEFAULT_MAX_NODES = 500
DEFAULT_MAX_EDGES = 2000


class Catalogue(Protocol):
    """Anything that maps a block key to a ``Block`` (the real catalogue, or a dict in tests).

    For "did you mean" suggestions the catalogue may also offer ``keys()``, or
    iterate over keys or blocks; without either there are no suggestions.
    """

    def get(self, key: str) -> Block | None: ...


ParamCheck = Callable[[Node], dict[str, str]]


@dataclass
class ValidationResult:
    """``errors``: node id → messages (only failing nodes, in graph order);
    ``graph_errors``: problems that belong to no single node."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    graph_errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors and not self.graph_errors

    def as_dict(self) -> dict[str, Any]:
        """The body of ``POST /api/pipelines/{id}/validate/``."""
        return {
            "valid": self.valid,
            "errors": {node_id: list(msgs) for node_id, msgs in self.errors.items()},
            "graph_errors": list(self.graph_errors),
        }


MAX_TIMEOUT_SECONDS = 7 * 24 * 3600
CACHE_OPTIONS = ("always_rerun",)
# Any name is a queue (a worker started with ``-Q <name>`` serves it), so a name is
# wrong only when it is malformed: what ``celery worker -Q a,b`` could not name
# (a comma, a space) or what is not a plain Redis key / AMQP queue name.
QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


def _option_errors(node: Node) -> list[str]:
    """The per-node run options beside the params: ``timeout_seconds``, ``cache`` and ``queue``."""
    problems = []
    timeout = node.raw.get("timeout_seconds")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= MAX_TIMEOUT_SECONDS
    ):
        problems.append(
            f"timeout_seconds: must be a whole number of seconds from 1 to {MAX_TIMEOUT_SECONDS} "
            f"(got {timeout!r})"
        )
    cache = node.raw.get("cache")
    if cache is not None and cache not in CACHE_OPTIONS:
        problems.append(f"cache: must be 'always_rerun' or left out (got {cache!r})")
    queue = node.raw.get("queue")
    if queue is not None and not (isinstance(queue, str) and QUEUE_NAME.fullmatch(queue)):
        problems.append(
            "queue: must be a queue name of 1 to 64 letters, digits, '_', '-' or '.', "
            f"starting with a letter or digit, e.g. 'highmem' (got {queue!r})"
        )
    return problems


def validate_graph(
    graph: Graph,
    catalogue: Catalogue,
    *,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_edges: int = DEFAULT_MAX_EDGES,
    param_check: ParamCheck | None = None,
    known_columns: Mapping[str, Sequence[str]] | None = None,
) -> ValidationResult:
    """Check ``graph`` against ``catalogue``; never raises for a bad graph.

    Detected: empty graph and oversized graph (graph errors, nothing else is
    checked then); unknown block (with close keys suggested); invalid params
    (``"C: must be > 0 (got -1)"``); unknown source/target port (listing the
    block's ports); port type mismatch; an edge whose source or target node does
    not exist (an error on the target node when it exists, otherwise a graph
    error); two edges into one input; a required input left unconnected; nodes
    on a cycle, self-loops included (``"part of a cycle: a → b → a"``).

    A block whose work fans out may check its params as a whole (e.g. that a
    search's candidates × folds stay under the limit, counted without listing
    them): see ``_fanout_errors``.

    ``param_check(node)`` adds context checks (e.g. a dataset belongs to the
    workspace) and returns errors keyed by param name; it is only called for
    nodes whose block is known and whose params passed the schema, so it may
    rely on their types.

    Last, on nodes with no other error, column params are checked against the
    upstream table's columns where those are known (``known_columns``: a source
    node's output columns by node id; see ``columns.column_errors``).
    """
    result = ValidationResult()
    if not graph.nodes:
        result.graph_errors.append("the graph is empty: add a block to start")
        return result
    if len(graph.nodes) > max_nodes:
        result.graph_errors.append(
            f"the graph has {len(graph.nodes)} blocks; the limit is {max_nodes}"
        )
    if len(graph.edges) > max_edges:
        result.graph_errors.append(
            f"the graph has {len(graph.edges)} connections; the limit is {max_edges}"
        )
    if result.graph_errors:
        return result

    errors: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    nodes = {n.id: n for n in graph.nodes}
    blocks: dict[str, Block | None] = {}
    for node in graph.nodes:
        block = catalogue.get(node.block)
        blocks[node.id] = block
        if block is None:
            errors[node.id].append(_unknown_block(node.block, catalogue))
            continue
        params, param_errors = validate_params(block.params_schema, node.params)
        if not param_errors:
            param_errors = _fanout_errors(block, params)
        if not param_errors and param_check is not None:
            param_errors = param_check(node)
        errors[node.id].extend(_prefixed(param_errors))
        errors[node.id].extend(_option_errors(node))

    connected: dict[str, dict[str, list[Edge]]] = {n.id: {} for n in graph.nodes}
    for edge in graph.edges:
        _check_edge(edge, nodes, blocks, errors, result.graph_errors, connected)

    for node in graph.nodes:
        block = blocks[node.id]
        if block is None:
            continue
        for port in block.inputs:
            wired = connected[node.id].get(port.name, [])
            if len(wired) > 1:
                sources = ", ".join(f"{e.source}.{e.source_port}" for e in wired)
                errors[node.id].append(
                    f"input '{port.name}' has {len(wired)} connections ({sources}); "
                    "an input takes one"
                )
            elif not wired and port.required:
                errors[node.id].append(f"input '{port.name}' is not connected")

    succ = successors(graph.node_ids, ((e.source, e.target) for e in graph.edges))
    for node_id, cycle in cycles_through(graph.node_ids, succ).items():
        errors[node_id].append(f"part of a cycle: {_spell_cycle(cycle)}")

    failing = {node_id for node_id, msgs in errors.items() if msgs}
    for node_id, msgs in column_errors(graph, catalogue, known=known_columns, skip=failing).items():
        errors[node_id].extend(msgs)

    result.errors = {node_id: msgs for node_id, msgs in errors.items() if msgs}
    return result


def _check_edge(
    edge: Edge,
    nodes: dict[str, Node],
    blocks: dict[str, Block | None],
    errors: dict[str, list[str]],
    graph_errors: list[str],
    connected: dict[str, dict[str, list[Edge]]],
) -> None:
    """Check one edge; record it on its target's input when the target end is sound."""
    missing = [end for end in (edge.source, edge.target) if end not in nodes]
    if missing:
        if edge.target in nodes:
            errors[edge.target].append(
                f"input '{edge.target_port}' is connected to a missing block '{edge.source}'"
            )
            # The input is wired (badly): do not also say it is not connected.
            connected[edge.target].setdefault(edge.target_port, []).append(edge)
        else:
            names = ", ".join(f"'{m}'" for m in missing)
            graph_errors.append(f"connection {edge.describe()} refers to a missing block {names}")
        return

    source_block, target_block = blocks[edge.source], blocks[edge.target]
    source_port = target_port = None
    if source_block is not None:
        source_port = source_block.output(edge.source_port)
        if source_port is None:
            errors[edge.source].append(
                _unknown_port("output", edge.source_port, source_block.outputs, source_block.inputs)
            )
    if target_block is not None:
        target_port = target_block.input(edge.target_port)
        if target_port is None:
            errors[edge.target].append(
                _unknown_port("input", edge.target_port, target_block.inputs, target_block.outputs)
            )
            return
        # Even from an unknown block or a bad port, the input is wired: the real
        # problem is reported where it is, not again as "not connected".
        connected[edge.target].setdefault(edge.target_port, []).append(edge)
    if source_port is not None and target_port is not None and source_port.type != target_port.type:
        errors[edge.target].append(
            f"edge from {edge.source}.{edge.source_port} ({source_port.type}) into "
            f"{edge.target}.{edge.target_port} ({target_port.type}): types differ"
        )


def _spell_cycle(cycle: list[str], longest: int = 8) -> str:
    """``a → b → a``; a long cycle is shortened in the middle and counted."""
    if len(cycle) <= longest + 1:
        return " → ".join(cycle)
    shown = [*cycle[:4], "…", *cycle[-3:]]
    return f"{' → '.join(shown)} ({len(cycle) - 1} blocks)"


def _fanout_errors(block: Block, params: dict[str, Any]) -> dict[str, str]:
    """``block.fanout.check_params(params)`` when the FanOut offers it, else nothing.

    Here, before any run, is where a fan-out too large to run is refused: the
    worker would otherwise plan it first. The check sees params only (with
    defaults filled in and the schema passed), never inputs, so it must be
    cheap and must not materialise the work it counts.
    """
    check = getattr(block.fanout, "check_params", None)
    return check(params) if check is not None else {}


def _prefixed(param_errors: dict[str, str]) -> list[str]:
    return [
        message if name == NON_PARAM_KEY else f"{name}: {message}"
        for name, message in param_errors.items()
    ]


def _unknown_port(kind: str, name: str, ports: Iterable[Any], other_side: Iterable[Any]) -> str:
    names = [p.name for p in ports]
    listed = ", ".join(names) if names else "none"
    message = f"no {kind} port '{name}'; {kind}s: {listed}"
    if any(p.name == name for p in other_side):
        opposite = "an input" if kind == "output" else "an output"
        message += f" ('{name}' is {opposite})"
    return message


def _unknown_block(key: str, catalogue: Catalogue) -> str:
    close = _close_keys(key, _catalogue_keys(catalogue))
    if close:
        return f"unknown block '{key}'; did you mean {', '.join(repr(k) for k in close)}?"
    return f"unknown block '{key}'"


def _close_keys(key: str, keys: list[str]) -> list[str]:
    """Up to three keys like ``key``: same name ignoring case or module path, else close spelling.

    Keys share long prefixes (``sklearn.ensemble.``), which makes many of them
    look alike; only those nearly as close as the best match are kept.
    """
    wanted = key.lower()
    exact = [k for k in keys if k.lower() == wanted or k.lower().rsplit(".", 1)[-1] == wanted]
    if exact:
        return exact[:3]
    scored = []
    for candidate in keys:
        matcher = difflib.SequenceMatcher(None, wanted, candidate.lower())
        if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6:
            ratio = matcher.ratio()
            if ratio >= 0.6:
                scored.append((ratio, candidate))
    if not scored:
        return []
    scored.sort(key=lambda item: -item[0])
    best = scored[0][0]
    return [candidate for ratio, candidate in scored[:3] if ratio >= best - 0.1]


def _catalogue_keys(catalogue: Any) -> list[str]:
    keys = getattr(catalogue, "keys", None)
    if callable(keys):
        return [str(k) for k in keys()]
    try:
        items = list(iter(catalogue))
    except TypeError:
        return []
    return [item if isinstance(item, str) else getattr(item, "key", str(item)) for item in items]

"""Graph spec parsing, validation, compilation and diffing — plain Python, no Django.

Typical use::

    graph = parse_graph(data)                       # GraphFormatError → HTTP 400
    result = validate_graph(graph, catalogue())     # result.as_dict() → validate endpoint
    if result.valid:
        plan = compile_plan(graph, catalogue())     # steps in dependency order

The catalogue is always a parameter (anything with ``.get(key) -> Block | None``),
never imported here, so tests pass a dict of stub blocks.
"""

from .canonical import canonical_params
from .compile import Plan, PlanStep, compile_plan
from .diff import graph_diff
from .errors import GraphError, GraphFormatError, GraphInvalidError
from .spec import Edge, Graph, Node, parse_graph
from .validate import Catalogue, ValidationResult, validate_graph

__all__ = [
    "Catalogue",
    "Edge",
    "Graph",
    "GraphError",
    "GraphFormatError",
    "GraphInvalidError",
    "Node",
    "Plan",
    "PlanStep",
    "ValidationResult",
    "canonical_params",
    "compile_plan",
    "graph_diff",
    "parse_graph",
    "validate_graph",
]

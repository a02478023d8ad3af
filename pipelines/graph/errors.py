"""Named exceptions of the graph package."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .validate import ValidationResult


class GraphError(Exception):
    """Base class: something is wrong with a graph."""


class GraphFormatError(GraphError):
    """The graph JSON is structurally broken (not what any editor would send).

    Raised by ``parse_graph``; the HTTP layer answers 400 with ``message`` (and
    ``node_id`` when the problem sits on one node). Semantic problems (unknown
    block, bad params, wrong ports, cycles) are not format errors: they are
    reported by ``validate_graph``, keyed by node id.
    """

    def __init__(self, message: str, *, node_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.node_id = node_id


class GraphInvalidError(GraphError):
    """``compile_plan`` was given a graph that does not validate.

    ``result`` holds the full ``ValidationResult`` (``result.as_dict()`` is the
    HTTP body of the validate endpoint).
    """

    def __init__(self, result: ValidationResult):
        self.result = result
        problems = [*result.graph_errors] + [
            f"{node_id}: {message}"
            for node_id, messages in result.errors.items()
            for message in messages
        ]
        super().__init__(
            "the graph is not valid: " + ("; ".join(problems[:3]) or "unknown problem")
        )

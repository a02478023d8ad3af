"""The block contract: what a kind of step declares and how it runs.

Plain Python, no Django. A block declares typed ports, a JSON Schema for its
parameters and one function that runs it on plain Python values. The editor is
generated from these declarations (``GET /api/blocks/``), the graph validator
checks against them, and the executor calls ``run``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

# Port types are a contract (DESIGN.md, "Blocks").
TABLE = "table"  # pandas.DataFrame
ESTIMATOR = "estimator"  # list[tuple[str, BaseEstimator]]: unfitted steps, in order
MODEL = "model"  # fitted sklearn.pipeline.Pipeline
METRICS = "metrics"  # dict of JSON-able values
REPORT = "report"  # dict of JSON-able values
CHART = "chart"  # a Vega-Lite spec (dict) with its data inlined, computed on a sample

PORT_TYPES = (TABLE, ESTIMATOR, MODEL, METRICS, REPORT, CHART)

CATEGORIES = (
    "Data",
    "Preprocessing",
    "Classification",
    "Regression",
    "Clustering",
    "Dimensionality reduction",
    "Training",
    "Evaluation",
    "Responsible AI",
    "Charts",
    "Other estimators",
)


class BlockError(Exception):
    """A step failed because of its data or parameters: permanent, never retried.

    ``message`` is written for a person who does not read tracebacks and says
    what to change ("column 'sex' holds text; add a OneHotEncoder before
    LogisticRegression").
    """

    def __init__(self, message: str, *, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param


class StepContext(Protocol):
    """What a running block may ask of the executor."""

    def load_table(self, sha256: str) -> Any:
        """Return the DataFrame stored as artifact ``sha256`` (an uploaded dataset)."""

    def log(self, message: str) -> None:
        """Append a line to the step's log."""


@dataclass(frozen=True)
class Port:
    name: str
    type: str
    required: bool = True
    description: str = ""
    # How the UI shows a value of this output port ("tuning" for a tuning report);
    # empty: what the port type implies (execution.summaries.output_kind).
    kind: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "description": self.description,
        }


class FanOut(Protocol):
    """Work that splits into ``count(plan)`` independent trials and one gather.

    Every method is a pure function of the step's inputs and params (``plan``
    is recomputed, never stored), so each trial can run as its own task on any
    worker. ``trial`` returns a JSON-able dict and catches its own failures;
    ``finish`` gets ``{index: trial result}`` and returns a value per output port.
    ``run`` of the same block does all of it in-process. A FanOut may also
    offer ``check_params(params) -> {param: message}``, which graph validation
    calls to refuse work too large to plan before any run starts.
    """

    def prepare(self, inputs: Mapping[str, Any], params: Mapping[str, Any]) -> Any: ...

    def count(self, plan: Any) -> int: ...

    def trial(
        self, inputs: Mapping[str, Any], params: Mapping[str, Any], plan: Any, index: int
    ) -> dict[str, Any]: ...

    def finish(
        self,
        inputs: Mapping[str, Any],
        params: Mapping[str, Any],
        plan: Any,
        results: Mapping[int, dict[str, Any]],
    ) -> dict[str, Any]: ...


RunFn = Callable[[StepContext, Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]

# ``(input columns by port: names or None when unknown, params) -> output columns by port``
ColumnsFn = Callable[
    [Mapping[str, "list[str] | None"], Mapping[str, Any]], dict[str, "list[str] | None"]
]


@dataclass(frozen=True)
class Block:
    """A kind of step.

    ``params_schema`` is a JSON Schema object (``{"type": "object",
    "properties": {...}, "required": [...]}``); every property carries a
    ``default`` unless it is required. ``run(ctx, inputs, params)`` gets inputs
    keyed by input port name (an optional port that is not wired is absent) and
    params with defaults filled in; it returns a value for every output port.
    Bump ``version`` whenever the same inputs and params would give different
    outputs: it is part of the cache key.
    """

    key: str
    label: str
    category: str
    description: str
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    params_schema: dict[str, Any]
    run: RunFn
    version: str = "1"
    curated: bool = False  # shown by default in the palette; others are found by search
    tags: tuple[str, ...] = field(default=())
    # Parameter names whose value names a column of an upstream table; the
    # editor offers that table's columns for them.
    column_params: tuple[str, ...] = field(default=())
    # Set on blocks whose work splits into independent tasks (see FanOut);
    # the engine then spreads them over all workers instead of calling ``run``.
    fanout: FanOut | None = None
    # How the output tables' columns follow from the input tables' columns, so
    # validation can check column params before a run (pipelines.graph.columns).
    # Raises BlockError(param=…) for a param that cannot work with those columns;
    # None for a port means "unknown". Absent: every output is unknown.
    output_columns: ColumnsFn | None = None

    def input(self, name: str) -> Port | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> Port | None:
        return next((p for p in self.outputs if p.name == name), None)

    def defaults(self) -> dict[str, Any]:
        props = self.params_schema.get("properties", {})
        return {name: spec["default"] for name, spec in props.items() if "default" in spec}

    def as_dict(self) -> dict[str, Any]:
        """The JSON the editor is generated from."""
        return {
            "key": self.key,
            "label": self.label,
            "category": self.category,
            "description": self.description,
            "version": self.version,
            "curated": self.curated,
            "tags": list(self.tags),
            "inputs": [p.as_dict() for p in self.inputs],
            "outputs": [p.as_dict() for p in self.outputs],
            "params_schema": self.params_schema,
            "column_params": list(self.column_params),
        }

"""The step executor: run one block on artifacts and store what it produced.

Knows neither Django nor Celery. The Celery task loads a StepRun row, calls
``StepExecutor.execute`` and writes the outcome back; tests and benchmarks call
the same code in-process (see ``local.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import logging
import time
import traceback
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipelines.blocks.base import Block, BlockError
from pipelines.graph.canonical import canonical_params

from .artifacts import JSON, OBJECT, TABLE, ArtifactStore, StoredArtifact
from .summaries import json_safe, output_kind, output_summary

PORT_KIND = {
    "table": TABLE,
    "estimator": OBJECT,
    "model": OBJECT,
    "metrics": JSON,
    "report": JSON,
    "chart": JSON,  # a Vega-Lite spec, stored and summarized as its JSON
}

# Part of every cache key: a different scikit-learn may fit differently. Read from
# the package metadata (the same string as sklearn.__version__): importing
# scikit-learn here would load it, and SciPy, into every web process.
LIBRARY_VERSIONS = {"sklearn": importlib.metadata.version("scikit-learn")}


def cache_key(
    *,
    block_key: str,
    block_version: str,
    params: Mapping[str, Any],
    input_hashes: Mapping[str, str],
) -> str:
    """hash(block key + block version + canonical params + input artifact hashes + libraries)."""
    material = canonical_params(
        {
            "block": block_key,
            "version": block_version,
            "params": params,
            "inputs": dict(sorted(input_hashes.items())),
            "libs": LIBRARY_VERSIONS,
        }
    )
    return hashlib.sha256(material.encode()).hexdigest()


@dataclass
class StepOutcome:
    ok: bool
    outputs: dict[str, StoredArtifact] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    logs: str = ""
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    error_detail: str = ""
    seconds: float = 0.0
    permanent: bool = True


class _Context:
    def __init__(
        self,
        store: ArtifactStore,
        log_lines: list[str],
        node_id: str = "",
        connection: Callable[[int], Mapping[str, Any]] | None = None,
    ):
        self._store = store
        self._log_lines = log_lines
        # Blocks name their node in errors raised later, e.g. at model.train.
        self.node_id = node_id
        # ``connection(id)`` -> credentials of a saved connection of the run's
        # workspace (dataset.sql); None where the caller offers none.
        self.connection = connection
        # id -> (table, sha256) of the tables load_table gave (the table is kept so the id stays its own).
        self.loaded: dict[int, tuple[Any, str]] = {}

    def load_table(self, sha256: str):
        """The stored table ``sha256``. Returned unchanged as an output, it is
        that same artifact: a source block such as dataset.upload hands a
        million-row table on without encoding and hashing it again."""
        table = self._store.load(sha256, TABLE)
        self.loaded[id(table)] = (table, sha256)
        return table

    def log(self, message: str) -> None:
        self._log_lines.append(message)


class _ListHandler(logging.Handler):
    def __init__(self, lines: list[str]):
        super().__init__(level=logging.INFO)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


class StepExecutor:
    def __init__(
        self, store: ArtifactStore, *, parallelism: Callable[[], contextlib.AbstractContextManager] | None = None
    ):
        """``parallelism()`` is entered around each block's run (e.g. joblib's Dask
        backend); an error entering it is the step's error, like one of the block."""
        self.store = store
        self.parallelism = parallelism or contextlib.nullcontext

    def load_inputs(self, block: Block, input_refs: Mapping[str, Mapping[str, str]]) -> dict:
        values = {}
        for port_name, ref in input_refs.items():
            values[port_name] = self.store.load(ref["sha256"], ref["kind"])
        return values

    def execute(
        self,
        block: Block,
        params: Mapping[str, Any],
        input_refs: Mapping[str, Mapping[str, str]],
        *,
        timeout_errors: tuple[type[BaseException], ...] = (),
        timeout_seconds: float | None = None,
        node_id: str = "",
        connection: Callable[[int], Mapping[str, Any]] | None = None,
    ) -> StepOutcome:
        """Run ``block`` on the artifacts ``input_refs`` ({port: {"sha256", "kind"}}).

        Never raises for a failure of the step itself: the outcome says what
        went wrong, for people (``error``) and for experts (``error_detail``).
        ``permanent`` is False only for errors worth retrying (lost files or
        connections), never for bad data or parameters. ``timeout_errors`` are
        the exceptions the caller's time limit raises inside the step.
        ``connection`` is offered to the block as ``ctx.connection`` (see ``dataset.sql``).
        """
        log_lines: list[str] = []
        caught: list[warnings.WarningMessage] = []
        stdout = io.StringIO()
        handler = _ListHandler(log_lines)
        root_logger = logging.getLogger()
        started = time.perf_counter()
        outcome = StepOutcome(ok=False)
        root_logger.addHandler(handler)
        try:
            with (
                warnings.catch_warnings(record=True) as caught,
                contextlib.redirect_stdout(stdout),
                contextlib.redirect_stderr(stdout),
            ):
                warnings.simplefilter("always")
                inputs = self.load_inputs(block, input_refs)
                ctx = _Context(self.store, log_lines, node_id, connection)
                with self.parallelism():
                    values = block.run(ctx, inputs, dict(params))
                outcome = self._store_outputs(block, values, loaded=ctx.loaded)
        except timeout_errors:
            outcome = StepOutcome(
                ok=False,
                error=f"the step ran longer than its time limit of {timeout_seconds:g} s and was stopped; "
                "raise the node's timeout or use a smaller dataset or model",
                error_detail=traceback.format_exc(),
            )
        except BlockError as exc:
            outcome = StepOutcome(ok=False, error=exc.message, error_detail=traceback.format_exc())
        except (OSError, ConnectionError) as exc:
            outcome = StepOutcome(
                ok=False,
                error=f"{type(exc).__name__}: {exc}",
                error_detail=traceback.format_exc(),
                permanent=False,
            )
        except Exception as exc:  # noqa: BLE001 - the step failed; record why
            outcome = StepOutcome(
                ok=False, error=_plain_error(block, exc), error_detail=traceback.format_exc()
            )
        finally:
            root_logger.removeHandler(handler)
        printed = stdout.getvalue().strip()
        if printed:
            log_lines.extend(printed.splitlines())
        outcome.warnings = _dedupe([f"{w.category.__name__}: {w.message}" for w in caught])
        outcome.logs = "\n".join(log_lines + outcome.warnings)
        outcome.seconds = time.perf_counter() - started
        return outcome

    def _store_outputs(
        self, block: Block, values: Mapping[str, Any], *, loaded: Mapping[int, tuple[Any, str]] | None = None
    ) -> StepOutcome:
        outputs: dict[str, StoredArtifact] = {}
        summary: dict[str, Any] = {"outputs": {}}
        for port in block.outputs:
            if port.name not in values:
                raise RuntimeError(f"block {block.key} produced no value for output {port.name!r}")
            value = values[port.name]
            kind = PORT_KIND[port.type]
            source = (loaded or {}).get(id(value))
            if kind == TABLE and source is not None and source[0] is value:
                stored = self.store.stored(source[1], TABLE)
            elif kind == TABLE:
                stored = self.store.put_table(value)
            elif kind == OBJECT:
                stored = self.store.put_object(value)
            else:
                value = json_safe(value)
                stored = self.store.put_json(value)
            outputs[port.name] = stored
            # The kind is declared here, once, from the port: readers render by it.
            summary["outputs"][port.name] = output_summary(
                port.type, value, kind=output_kind(port.type, port.kind)
            )
            if port.type == "metrics":
                summary["metrics"] = value
        return StepOutcome(ok=True, outputs=outputs, summary=summary)


def _plain_error(block: Block, exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{block.label} failed: {text}"


def _dedupe(items: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)

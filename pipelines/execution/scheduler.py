"""Ready-set scheduling of a run's steps, in plain Python.

Knows neither Django nor Celery. The caller hands in what it knows of the run's
steps (all of them, or only the ones an event touches: the children of a
finished step and those children's parents) and a batch cache-lookup callback;
the scheduler answers with what to do:

- ``from_cache``: steps whose cache key matched a stored result; they count as
  succeeded at once, and their own children are considered in the same call;
- ``enqueue``: steps whose inputs are all done and that must execute, with the
  cache key and the resolved input artifact refs they run on;
- ``skip``: pending steps that will never run (a step failed, or the run was
  cancelled);
- ``cancel``: queued or running steps to stop (cancel only).

It never writes anything: applying the actions (conditional updates, sending
tasks) is the caller's business, and a caller that loses a race simply does not
apply that action. Work per call is proportional to the steps it is given, not
to the size of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .executor import cache_key

PENDING = "pending"
QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
SKIPPED = "skipped"
CANCELLED = "cancelled"

FINAL = frozenset({SUCCEEDED, FAILED, SKIPPED, CANCELLED})
ACTIVE = frozenset({QUEUED, RUNNING})

Ref = Mapping[str, str]  # {"sha256": …, "kind": …}


@dataclass
class StepState:
    """What the scheduler needs of one step.

    ``inputs`` maps each wired input port to ``(source node, source port)``;
    ``children`` lists the nodes that consume this one's outputs; ``outputs``
    holds the artifact refs of a succeeded step.
    """

    node_id: str
    status: str
    block_key: str = ""
    block_version: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    children: Sequence[str] = ()
    outputs: Mapping[str, Ref] = field(default_factory=dict)
    always_rerun: bool = False

    @property
    def parents(self) -> set[str]:
        return {source for source, _ in self.inputs.values()}


@dataclass(frozen=True)
class Hit:
    """A stored result that a step can reuse: its outputs and who produced it."""

    outputs: Mapping[str, Ref]
    origin: Any = None


@dataclass(frozen=True)
class Ready:
    """A step to execute: its cache key and the artifacts wired into it."""

    cache_key: str
    input_refs: dict[str, Ref]


@dataclass
class Actions:
    from_cache: dict[str, tuple[str, Hit]] = field(default_factory=dict)
    enqueue: dict[str, Ready] = field(default_factory=dict)
    skip: list[str] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)


# Given cache keys, answer the ones with a usable stored result.
CacheLookup = Callable[[Sequence[str]], Mapping[str, Hit]]


def _no_cache(keys: Sequence[str]) -> Mapping[str, Hit]:
    return {}


class Scheduler:
    """Decide the next actions of one run from the states of (some of) its steps.

    ``steps`` may be partial, but each step that is a candidate must come with
    all of its parents. ``use_cache`` off makes every ready step execute;
    ``lookup`` is called once per wave of ready steps with their cache keys.
    """

    def __init__(
        self,
        steps: Mapping[str, StepState] | Iterable[StepState],
        *,
        use_cache: bool = True,
        lookup: CacheLookup = _no_cache,
    ):
        if not isinstance(steps, Mapping):
            steps = {s.node_id: s for s in steps}
        self.steps: dict[str, StepState] = dict(steps)
        self.use_cache = use_cache
        self.lookup = lookup

    def know(self, states: Iterable[StepState]) -> None:
        """Add steps to the view (the children of a step that just finished, say)."""
        for state in states:
            self.steps.setdefault(state.node_id, state)

    # --- events -------------------------------------------------------------

    def start(self) -> Actions:
        """A new (or retried, or stalled) run: every pending step whose inputs are done."""
        if any(s.status == FAILED for s in self.steps.values()):
            return self.step_failed()
        return self._resolve(s.node_id for s in self.steps.values() if s.status == PENDING)

    def step_succeeded(self, node_id: str) -> Actions:
        """``node_id`` just succeeded: its children may now be ready."""
        return self._resolve(self.steps[node_id].children)

    def step_failed(self) -> Actions:
        """A step failed: nothing that is still pending will run."""
        return Actions(skip=self._mark(PENDING, SKIPPED))

    def cancel(self) -> Actions:
        """Stop what is queued or running, skip what is pending."""
        return Actions(cancel=self._mark(ACTIVE, CANCELLED), skip=self._mark(PENDING, SKIPPED))

    def _mark(self, current: str | frozenset[str], new: str) -> list[str]:
        marked = [s for s in self.steps.values() if s.status in ({current} if isinstance(current, str) else current)]
        for step in marked:
            step.status = new
        return [s.node_id for s in marked]

    # --- resolution -----------------------------------------------------------

    def _resolve(self, candidates: Iterable[str]) -> Actions:
        """Waves of ready steps: cache hits succeed at once and unlock their children."""
        actions = Actions()
        wave = self._ready(candidates)
        while wave:
            keyed = {node_id: self._key(node_id) for node_id in wave}
            cacheable = [
                ready.cache_key
                for node_id, ready in keyed.items()
                if self.use_cache and not self.steps[node_id].always_rerun
            ]
            hits = self.lookup(cacheable) if cacheable else {}
            unlocked: list[str] = []
            for node_id, ready in keyed.items():
                hit = hits.get(ready.cache_key) if ready.cache_key in cacheable else None
                step = self.steps[node_id]
                if hit is None:
                    step.status = QUEUED
                    actions.enqueue[node_id] = ready
                else:
                    step.status, step.outputs = SUCCEEDED, hit.outputs
                    actions.from_cache[node_id] = (ready.cache_key, hit)
                    unlocked.extend(step.children)
            wave = self._ready(unlocked)
        return actions

    def _ready(self, candidates: Iterable[str]) -> list[str]:
        ready: list[str] = []
        for node_id in dict.fromkeys(candidates):
            step = self.steps.get(node_id)
            if step is None or step.status != PENDING:
                continue
            parents = [self.steps.get(p) for p in step.parents]
            if all(p is not None and p.status == SUCCEEDED for p in parents):
                ready.append(node_id)
        return ready

    def _key(self, node_id: str) -> Ready:
        step = self.steps[node_id]
        refs = {
            port: dict(self.steps[source].outputs[source_port])
            for port, (source, source_port) in step.inputs.items()
        }
        key = cache_key(
            block_key=step.block_key,
            block_version=step.block_version,
            params=step.params,
            input_hashes={port: ref["sha256"] for port, ref in refs.items()},
        )
        return Ready(cache_key=key, input_refs=refs)


def run_outcome(statuses: Iterable[str]) -> str | None:
    """The final status of a run whose steps have these statuses, or None while it is not over."""
    statuses = list(statuses)
    if any(s not in FINAL for s in statuses):
        return None
    if any(s in (FAILED, SKIPPED) for s in statuses):
        return FAILED if FAILED in statuses else CANCELLED
    if CANCELLED in statuses:
        return CANCELLED
    return SUCCEEDED

"""The plain-Python scheduler, driven the way the services drive it.

A small simulated engine (``Engine``) applies the scheduler's actions,
"executes" queued steps with a deterministic stub (each output's hash depends
on the node and its inputs) and keeps a cache of results across runs, so the
tests can assert which nodes ran and which came from the cache.
"""

from __future__ import annotations

import hashlib

import pytest

from pipelines.execution.scheduler import (
    CANCELLED,
    FAILED,
    PENDING,
    QUEUED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    Actions,
    Hit,
    Scheduler,
    StepState,
    run_outcome,
)


def _states(parents: dict[str, list[str]], *, params=None, always_rerun=()) -> dict[str, StepState]:
    children: dict[str, list[str]] = {node: [] for node in parents}
    for node, sources in parents.items():
        for source in sources:
            children[source].append(node)
    return {
        node: StepState(
            node_id=node,
            status=PENDING,
            block_key="stub.block",
            block_version="1",
            params=(params or {}).get(node, {"node": node}),
            inputs={f"in{i}": (source, "out") for i, source in enumerate(sources)},
            children=children[node],
            always_rerun=node in always_rerun,
        )
        for node, sources in parents.items()
    }


class Engine:
    """Runs graphs through the scheduler; ``cache`` outlives runs like the real one."""

    def __init__(self):
        self.cache: dict[str, Hit] = {}
        self.lookups: list[list[str]] = []

    def lookup(self, keys):
        self.lookups.append(list(keys))
        return {key: self.cache[key] for key in keys if key in self.cache}

    def run(self, states, *, use_cache=True, fail=()):
        """Execute until nothing is queued; returns (nodes executed in order, nodes from cache, scheduler)."""
        scheduler = Scheduler(states, use_cache=use_cache, lookup=self.lookup)
        ran, cached, keys = [], [], {}
        actions = scheduler.start()
        queue: list[str] = []
        while True:
            cached += list(actions.from_cache)
            for node_id, ready in actions.enqueue.items():
                keys[node_id] = ready.cache_key
                queue.append(node_id)
            if not queue:
                return ran, cached, scheduler
            node_id = queue.pop(0)
            step = scheduler.steps[node_id]
            if step.status != QUEUED:  # skipped or cancelled meanwhile
                actions = Actions()
                continue
            ran.append(node_id)
            if node_id in fail:
                step.status = FAILED
                actions = scheduler.step_failed()
                continue
            digest = hashlib.sha256(keys[node_id].encode()).hexdigest()
            step.status, step.outputs = SUCCEEDED, {"out": {"sha256": digest, "kind": "json"}}
            self.cache[keys[node_id]] = Hit(outputs=step.outputs)
            actions = scheduler.step_succeeded(node_id)


PIPELINE = {"load": [], "split": ["load"], "scale": [], "model": ["scale"], "train": ["split", "model"],
            "evaluate": ["train", "split"]}


def test_a_first_run_executes_every_step_once_in_dependency_order():
    ran, cached, scheduler = Engine().run(_states(PIPELINE))
    assert ran == ["load", "scale", "split", "model", "train", "evaluate"]
    assert cached == []
    assert run_outcome(s.status for s in scheduler.steps.values()) == SUCCEEDED


def test_an_unchanged_rerun_takes_every_step_from_the_cache():
    engine = Engine()
    engine.run(_states(PIPELINE))
    ran, cached, scheduler = engine.run(_states(PIPELINE))
    assert ran == []
    assert sorted(cached) == sorted(PIPELINE)
    assert all(s.status == SUCCEEDED for s in scheduler.steps.values())


def test_changing_one_parameter_reruns_that_step_and_only_what_depends_on_it():
    engine = Engine()
    engine.run(_states(PIPELINE))
    changed = _states(PIPELINE, params={"model": {"node": "model", "C": 2}})
    ran, cached, _ = engine.run(changed)
    assert ran == ["model", "train", "evaluate"]
    assert sorted(cached) == ["load", "scale", "split"]


def test_bypassing_the_cache_executes_every_step_and_never_looks_it_up():
    engine = Engine()
    engine.run(_states(PIPELINE))
    engine.lookups.clear()
    ran, cached, _ = engine.run(_states(PIPELINE), use_cache=False)
    assert sorted(ran) == sorted(PIPELINE) and cached == []
    assert engine.lookups == []


def test_an_always_rerun_node_executes_while_its_unchanged_children_come_from_the_cache():
    engine = Engine()
    engine.run(_states(PIPELINE))
    ran, cached, _ = engine.run(_states(PIPELINE, always_rerun={"split"}))
    assert ran == ["split"]  # its output is identical, so train and evaluate still hit
    assert sorted(cached) == ["evaluate", "load", "model", "scale", "train"]


def test_a_failed_step_skips_every_pending_step_and_nothing_below_it_runs():
    ran, _, scheduler = Engine().run(_states(PIPELINE), fail={"split"})
    assert "train" not in ran and "evaluate" not in ran
    statuses = {n: s.status for n, s in scheduler.steps.items()}
    assert statuses["split"] == FAILED
    assert statuses["train"] == statuses["evaluate"] == SKIPPED
    assert run_outcome(statuses.values()) == FAILED


def test_retrying_a_failed_run_reuses_what_succeeded_and_executes_from_the_failure():
    engine = Engine()
    engine.run(_states(PIPELINE), fail={"train"})
    ran, cached, _ = engine.run(_states(PIPELINE))
    assert ran == ["train", "evaluate"]
    assert sorted(cached) == ["load", "model", "scale", "split"]


def test_cancel_stops_active_steps_and_skips_pending_ones():
    states = _states(PIPELINE)
    scheduler = Scheduler(states)
    scheduler.start()
    scheduler.steps["load"].status = RUNNING
    actions = scheduler.cancel()
    assert sorted(actions.cancel) == ["load", "scale"]
    assert sorted(actions.skip) == ["evaluate", "model", "split", "train"]
    assert run_outcome(s.status for s in scheduler.steps.values()) == CANCELLED


def test_a_diamond_joins_only_once_both_branches_are_done():
    diamond = {"top": [], "left": ["top"], "right": ["top"], "join": ["left", "right"]}
    scheduler = Scheduler(_states(diamond))
    assert list(scheduler.start().enqueue) == ["top"]
    scheduler.steps["top"].status = SUCCEEDED
    scheduler.steps["top"].outputs = {"out": {"sha256": "a" * 64, "kind": "json"}}
    assert sorted(scheduler.step_succeeded("top").enqueue) == ["left", "right"]
    scheduler.steps["left"].status = SUCCEEDED
    scheduler.steps["left"].outputs = {"out": {"sha256": "b" * 64, "kind": "json"}}
    assert scheduler.step_succeeded("left").enqueue == {}  # right is still queued
    scheduler.steps["right"].status = SUCCEEDED
    scheduler.steps["right"].outputs = {"out": {"sha256": "c" * 64, "kind": "json"}}
    join = scheduler.step_succeeded("right").enqueue["join"]
    assert join.input_refs == {"in0": {"sha256": "b" * 64, "kind": "json"}, "in1": {"sha256": "c" * 64, "kind": "json"}}


def test_cache_hits_unlock_their_children_in_the_same_call_with_one_lookup_per_wave():
    engine = Engine()
    chain = {f"n{i}": [f"n{i - 1}"] if i else [] for i in range(5)}
    engine.run(_states(chain))
    engine.lookups.clear()
    ran, cached, _ = engine.run(_states(chain))
    assert ran == [] and cached == [f"n{i}" for i in range(5)]
    assert [len(keys) for keys in engine.lookups] == [1, 1, 1, 1, 1]


def test_a_500_node_chain_is_advanced_from_a_view_of_the_finished_step_and_its_child_only():
    """What the services do: after each step, they load only its children (and their parents)."""
    full = _states({f"n{i}": [f"n{i - 1}"] if i else [] for i in range(500)})
    executed = 0
    scheduler = Scheduler({"n0": full["n0"]}, use_cache=False)
    actions = scheduler.start()
    while actions.enqueue:
        (node_id,) = actions.enqueue
        executed += 1
        done = full[node_id]
        done.status, done.outputs = SUCCEEDED, {"out": {"sha256": f"{executed:064x}", "kind": "json"}}
        view = {node_id: done, **{child: full[child] for child in done.children}}
        scheduler = Scheduler(view, use_cache=False)  # a fresh, 2-step view each time
        actions = scheduler.step_succeeded(node_id)
    assert executed == 500
    assert run_outcome(s.status for s in full.values()) == SUCCEEDED


def test_a_step_whose_parent_is_missing_from_the_view_is_not_started():
    states = _states({"a": [], "b": [], "join": ["a", "b"]})
    scheduler = Scheduler({"a": states["a"], "join": states["join"]})
    states["a"].status, states["a"].outputs = SUCCEEDED, {"out": {"sha256": "a" * 64, "kind": "json"}}
    assert scheduler.step_succeeded("a").enqueue == {}


@pytest.mark.parametrize(
    ("statuses", "outcome"),
    [
        ([SUCCEEDED, SUCCEEDED], SUCCEEDED),
        ([SUCCEEDED, RUNNING], None),
        ([FAILED, SKIPPED], FAILED),
        ([CANCELLED, SKIPPED], CANCELLED),
        ([PENDING], None),
    ],
)
def test_run_outcome_is_final_only_when_every_step_is(statuses, outcome):
    assert run_outcome(statuses) == outcome

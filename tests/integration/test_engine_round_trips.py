"""Database round trips per step, counted on PostgreSQL, and pinned exactly.

Steps run in this process (``services.steps.step_execute``, as the Celery task
calls it); the broker send is replaced by a list so that no worker races the
test for the steps. What is counted is every statement the step's claim,
execution and advance send to the database, and every transaction they commit
(psycopg sends its BEGIN and the COMMIT as round trips of their own; a statement
outside a transaction commits by itself). The counts are exact on purpose: a
statement added to a step's path fails these tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.db import connection

from pipelines.graph.builder import GraphBuilder
from pipelines.models import AuditEvent, Pipeline, Run, StepRun, Workspace
from pipelines.services import dispatch
from pipelines.services.runs import run_start
from pipelines.services.steps import step_execute

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@dataclass
class Trips:
    statements: list[str]
    commits: int = 0

    @property
    def round_trips(self) -> int:
        return len(self.statements) + 2 * self.commits  # BEGIN and COMMIT of each transaction


@contextmanager
def counting() -> Iterator[Trips]:
    trips = Trips(statements=[])

    def statement(execute, sql, params, many, context):
        trips.statements.append(sql)
        return execute(sql, params, many, context)

    def commit(commit=connection.commit):
        trips.commits += 1
        commit()

    connection.commit = commit
    try:
        with connection.execute_wrapper(statement):
            yield trips
    finally:
        del connection.commit


def _chain(n: int) -> dict:
    graph = GraphBuilder()
    for i in range(n):
        graph.node(f"s{i}", "sklearn.preprocessing.StandardScaler")
        if i:
            graph.edge(f"s{i - 1}.estimator", f"s{i}.estimator")
    return graph.build()


def _one_step() -> dict:
    return GraphBuilder().node("load", "dataset.builtin", name="iris").build()


@pytest.fixture
def sent(monkeypatch):
    """The steps the engine sends to the broker, in order, instead of sending them."""
    steps: list[int] = []
    monkeypatch.setattr(dispatch, "enqueue_steps", lambda rows, countdown=None: steps.extend(r.pk for r in rows))
    return steps


def _execute_all(sent: list[int]) -> dict[str, Trips]:
    """Run every sent step in this process; {node id: what it cost}."""
    costs = {}
    while sent:
        step_id = sent.pop(0)
        with counting() as trips:
            step_execute(step_id=step_id)
        costs[StepRun.objects.get(pk=step_id).node_id] = trips
    return costs


def _pipeline(owner, graph: dict, name: str = "p") -> Pipeline:
    return Pipeline.objects.create(workspace=Workspace.objects.get(personal_owner=owner), name=name, graph=graph)


def test_a_one_step_run_takes_two_round_trips_on_the_worker(owner, sent):
    """The claim (which also starts the run) and the success (which also closes it)."""
    run = run_start(pipeline=_pipeline(owner, _one_step()), user=owner, use_cache=False)

    costs = _execute_all(sent)

    run.refresh_from_db()
    assert run.status == "succeeded"
    assert len(costs["load"].statements) == 2 and costs["load"].commits == 0
    assert costs["load"].round_trips == 2


def test_starting_a_run_sends_its_first_step_after_one_transaction_of_four_statements(owner, monkeypatch):
    """Snapshot (the pipeline row locked, the latest version read and reused), the run,
    its steps: one commit, then the send. The audit event is appended after the send
    (three statements, one commit). The lock keeps concurrent snapshots from taking the
    same version number (test_concurrent_writes.py)."""
    pipeline = _pipeline(owner, _one_step())
    run_start(pipeline=pipeline, user=owner, use_cache=False)  # the version and the audit head exist now
    before_send: list[Trips] = []

    with counting() as trips:
        monkeypatch.setattr(
            dispatch, "enqueue_steps",
            lambda rows, countdown=None: before_send.append(Trips(list(trips.statements), trips.commits)),
        )
        run = run_start(pipeline=pipeline, user=owner, use_cache=False)

    [at_send] = before_send
    assert len(at_send.statements) == 4 and at_send.commits == 1, at_send.statements
    assert at_send.round_trips == 6
    after_send = trips.statements[len(at_send.statements):]
    assert len(after_send) == 3 and trips.commits == 2, after_send
    assert AuditEvent.objects.filter(action="run.start", target_id=str(run.pk)).exists()


@pytest.mark.parametrize("use_cache", [False, True])
def test_a_step_of_a_chain_queues_its_successor_in_the_statement_that_records_it(owner, sent, use_cache):
    """Claim + record (with the run's counter and the next step's queueing): two statements,
    no transaction; with the cache on, the next step's key is looked up first (three)."""
    run = run_start(pipeline=_pipeline(owner, _chain(8)), user=owner, use_cache=use_cache)

    costs = _execute_all(sent)

    run.refresh_from_db()
    assert run.status == "succeeded" and run.steps_done == 8
    per_step = 3 if use_cache else 2
    assert {node: len(t.statements) for node, t in costs.items()} == {
        **{f"s{i}": per_step for i in range(7)}, "s7": 2,  # the last step has nothing to queue
    }
    assert all(t.commits == 0 for t in costs.values())
    assert max(t.round_trips for t in costs.values()) <= 4


def test_advancing_a_step_costs_the_same_in_a_long_chain_as_in_a_short_one(owner, sent):
    short = _pipeline(owner, _chain(5), "short")
    long = _pipeline(owner, _chain(120), "long")

    run_start(pipeline=short, user=owner, use_cache=False)
    short_costs = _execute_all(sent)
    run_start(pipeline=long, user=owner, use_cache=False)
    long_costs = _execute_all(sent)

    assert Run.objects.filter(status="succeeded").count() == 2
    assert short_costs["s2"].round_trips == long_costs["s2"].round_trips == long_costs["s100"].round_trips


def test_a_step_with_two_parents_is_queued_by_whichever_finishes_last(owner, sent):
    """``train`` waits for ``split`` and ``scaler``: it is not queued with either one's success
    (neither feeds it alone) but by the advance that reads the other parent once committed."""
    graph = (
        GraphBuilder()
        .node("load", "dataset.builtin", name="iris")
        .node("split", "data.split")
        .node("scaler", "sklearn.preprocessing.StandardScaler")
        .node("train", "model.train")
        .edge("load.table", "split.table")
        .edge("split.train", "train.table")
        .edge("scaler.estimator", "train.estimator")
        .build()
    )
    run = run_start(pipeline=_pipeline(owner, graph), user=owner, use_cache=False)

    costs = _execute_all(sent)

    run.refresh_from_db()
    assert run.status == "succeeded" and run.steps_done == 4
    assert list(costs) == ["load", "scaler", "split", "train"]
    assert len(costs["load"].statements) == 2  # it queues split, its only child, as it records itself
    assert len(costs["scaler"].statements) == 3  # train's other parent is read: not done yet
    assert len(costs["split"].statements) == 4  # reads scaler (done), then queues train
    assert StepRun.objects.get(run=run, node_id="train").attempts == 1

"""Database round trips per step, counted on PostgreSQL.

Steps run in this process (``services.steps.step_execute``, as the Celery task
calls it); the broker send is replaced by a list so that no worker races the
test for the steps. What is counted is every statement the step's claim,
execution and advance send to the database.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pipelines.graph.builder import GraphBuilder
from pipelines.models import Pipeline, Run, StepRun, Workspace
from pipelines.services import dispatch
from pipelines.services.runs import run_start
from pipelines.services.steps import step_execute

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _chain(n: int) -> dict:
    graph = GraphBuilder()
    for i in range(n):
        graph.node(f"s{i}", "sklearn.preprocessing.StandardScaler")
        if i:
            graph.edge(f"s{i - 1}.estimator", f"s{i}.estimator")
    return graph.build()


@pytest.fixture
def sent(monkeypatch):
    """The steps the engine sends to the broker, in order, instead of sending them."""
    steps: list[int] = []
    monkeypatch.setattr(dispatch, "enqueue_steps", lambda rows, countdown=None: steps.extend(r.pk for r in rows))
    return steps


def _execute_all(sent: list[int]) -> dict[str, int]:
    """Run every sent step in this process; {node id: statements it took}."""
    counts = {}
    while sent:
        step_id = sent.pop(0)
        with CaptureQueriesContext(connection) as queries:
            step_execute(step_id=step_id)
        counts[StepRun.objects.get(pk=step_id).node_id] = len(queries.captured_queries)
    return counts


@pytest.mark.parametrize("use_cache", [False, True])
def test_a_step_in_the_middle_of_a_chain_takes_at_most_four_round_trips(owner, sent, use_cache):
    pipeline = Pipeline.objects.create(
        workspace=Workspace.objects.get(personal_owner=owner), name="chain", graph=_chain(8)
    )
    run = run_start(pipeline=pipeline, user=owner, use_cache=use_cache)

    counts = _execute_all(sent)

    run.refresh_from_db()
    assert run.status == "succeeded" and run.steps_done == 8
    middle = {node: n for node, n in counts.items() if node not in ("s0", "s7")}
    assert len(middle) == 6
    assert max(middle.values()) <= 4, counts


def test_advancing_a_step_costs_the_same_in_a_long_chain_as_in_a_short_one(owner, sent):
    workspace = Workspace.objects.get(personal_owner=owner)
    short = Pipeline.objects.create(workspace=workspace, name="short", graph=_chain(5))
    long = Pipeline.objects.create(workspace=workspace, name="long", graph=_chain(120))

    run_start(pipeline=short, user=owner, use_cache=False)
    short_counts = _execute_all(sent)
    run_start(pipeline=long, user=owner, use_cache=False)
    long_counts = _execute_all(sent)

    assert Run.objects.filter(status="succeeded").count() == 2
    assert short_counts["s2"] == long_counts["s2"] == long_counts["s100"]

"""Concurrent writes in one workspace: version numbers and the name-check lock.

Two snapshots of one pipeline at the same moment get consecutive version numbers.

Each test holds the first snapshot's transaction open until PostgreSQL shows the
second one waiting for a lock, then commits it: the interleaving that used to end in
a unique-constraint error on (pipeline, number).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from pipelines.graph.builder import GraphBuilder
from pipelines.models import Membership, Pipeline, PipelineVersion, Role
from pipelines.services.pipelines import pipeline_duplicate, pipeline_version_snapshot
from tests.integration.world import personal

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _graph(dataset: str) -> dict:
    return GraphBuilder().node("load", "dataset.builtin", name=dataset).build()


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0]


def _snapshot_while_another_is_open(pipeline: Pipeline, owner) -> list[int]:
    """Snapshot A holds its transaction; snapshot B starts, must wait; A commits; B ends."""
    numbers: list[int] = []
    errors: list[BaseException] = []
    a_has_snapshotted, b_may_finish = threading.Event(), threading.Event()

    def first() -> None:
        try:
            with transaction.atomic():
                numbers.append(pipeline_version_snapshot(pipeline=Pipeline.objects.get(pk=pipeline.pk), user=owner).number)
                a_has_snapshotted.set()
                b_may_finish.wait(timeout=30)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            p = Pipeline.objects.get(pk=pipeline.pk)
            p.graph = _graph("wine")  # a different graph: B must make a version of its own
            numbers.append(pipeline_version_snapshot(pipeline=p, user=owner).number)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    a = threading.Thread(target=first)
    a.start()
    assert a_has_snapshotted.wait(timeout=30)
    b = threading.Thread(target=second)
    b.start()
    deadline = time.monotonic() + 10
    while _lock_waiters() == 0 and b.is_alive():
        assert time.monotonic() < deadline, "the second snapshot never waited for the first"
        time.sleep(0.02)
    b_may_finish.set()
    a.join(timeout=30)
    b.join(timeout=30)
    assert not errors, errors
    return numbers


def test_two_first_snapshots_make_versions_one_and_two(owner):
    pipeline = Pipeline.objects.create(workspace=personal(owner), name="Race", graph=_graph("iris"), created_by=owner)

    assert _snapshot_while_another_is_open(pipeline, owner) == [1, 2]
    assert list(PipelineVersion.objects.filter(pipeline=pipeline).order_by("number").values_list("number", flat=True)) == [1, 2]


def test_two_later_snapshots_make_consecutive_versions(owner):
    pipeline = Pipeline.objects.create(workspace=personal(owner), name="Race", graph=_graph("iris"), created_by=owner)
    pipeline_version_snapshot(pipeline=pipeline, user=owner)
    pipeline.graph = _graph("breast_cancer")
    pipeline.save(update_fields=["graph"])

    assert _snapshot_while_another_is_open(pipeline, owner) == [2, 3]


def test_a_name_check_in_progress_does_not_hold_up_other_inserts_in_the_workspace(owner, make_user):
    """Duplicating a pipeline locks the workspace row to serialise name checks; rows that
    merely point at the workspace (a run, a membership …) must still be insertable."""
    workspace = personal(owner)
    pipeline = Pipeline.objects.create(workspace=workspace, name="Churn", graph=_graph("iris"), created_by=owner)
    newcomer = make_user("newcomer")
    duplicated, outcome = threading.Event(), []

    def duplicate_and_hold() -> None:
        try:
            with transaction.atomic():
                pipeline_duplicate(pipeline=Pipeline.objects.get(pk=pipeline.pk), user=owner)
                duplicated.set()
                time.sleep(3)
        finally:
            connections.close_all()

    holder = threading.Thread(target=duplicate_and_hold)
    holder.start()
    try:
        assert duplicated.wait(timeout=30)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '1s'")
            outcome.append(Membership.objects.create(workspace=workspace, user=newcomer, role=Role.VIEWER).pk)
    finally:
        holder.join(timeout=30)
    assert outcome

"""What the dispatch path keeps cheap stays correct: the claim's commit setting
does not leak, and one heartbeat thread per process beats for every running step.

Steps are claimed in this process (``services.steps``), on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from pipelines.graph.builder import GraphBuilder
from pipelines.models import Pipeline, StepRun, Workspace
from pipelines.services import dispatch, steps
from pipelines.services.runs import run_start

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queued_step(owner, monkeypatch) -> StepRun:
    """A one-step run's step, queued and not sent anywhere."""
    monkeypatch.setattr(dispatch, "enqueue_steps", lambda rows, countdown=None: None)
    pipeline = Pipeline.objects.create(
        workspace=Workspace.objects.get(personal_owner=owner),
        name="one step",
        graph=GraphBuilder().node("load", "dataset.builtin", name="iris").build(),
    )
    run = run_start(pipeline=pipeline, user=owner, use_cache=False)
    return run.steps.get()


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_a_claim_that_skips_the_flush_wait_leaves_the_connection_synchronous(queued_step):
    claimed = steps._claim(queued_step.pk)

    assert claimed is not None and claimed.status == "running" and claimed.attempts == 1
    assert _synchronous_commit() == "on"


def test_a_claim_inside_a_callers_transaction_leaves_that_transaction_synchronous(queued_step):
    with transaction.atomic():
        claimed = steps._claim(queued_step.pk)
        inside = _synchronous_commit()

    assert claimed is not None and claimed.status == "running"
    assert inside == "on"


def test_a_second_claim_of_the_same_step_gets_nothing(queued_step):
    assert steps._claim(queued_step.pk) is not None
    assert steps._claim(queued_step.pk) is None


def _age(step_id: int) -> None:
    StepRun.objects.filter(pk=step_id).update(heartbeat_at=timezone.now() - timedelta(hours=1))


def _beat_seen(step_id: int, within: float) -> bool:
    stale = timezone.now() - timedelta(minutes=1)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if StepRun.objects.get(pk=step_id).heartbeat_at > stale:
            return True
        time.sleep(0.05)
    return False


def test_one_heartbeat_thread_beats_for_each_running_step_and_stops_when_it_ends(queued_step, settings):
    settings.STEP_HEARTBEAT_SECONDS = 0.2
    claimed = steps._claim(queued_step.pk)
    _age(claimed.pk)

    with steps._heartbeats.beating(claimed):
        assert _beat_seen(claimed.pk, within=3)
        threads = threading.active_count()
    with steps._heartbeats.beating(claimed):
        again = threading.active_count()
    time.sleep(0.5)  # a beat already under way when the step ended lands first
    _age(claimed.pk)

    assert again == threads  # the second step started no thread
    assert not _beat_seen(claimed.pk, within=1)  # no beats once the step is over


def test_a_connection_that_ended_a_task_moments_ago_skips_the_health_check_an_idle_one_gets(monkeypatch):
    from pipelines import tasks

    connection.ensure_connection()
    assert connection.health_check_enabled

    tasks._task_ended()
    tasks._fresh_database_connection()
    recent = connection.health_check_done
    monkeypatch.setattr(tasks, "_last_task_ended", time.monotonic() - 2 * tasks.RECENTLY_USED_SECONDS)
    tasks._fresh_database_connection()
    idle = connection.health_check_done

    assert recent is True
    assert idle is False  # the next statement checks the connection first

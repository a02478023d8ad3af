"""Sending work to the workers: the only module that imports the Celery tasks.

Services decide *what* runs; this module knows *how* it reaches a worker
(task names, ids, queues, time limits). Each task's own queue is fixed where it
is declared (``tasks.engine_task``); the only override is a node's ``queue``
option, which sends its step, its trials and their gathering to that queue. Every function is called after the rows it
points at are committed, so a worker never reads an uncommitted row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings

logger = logging.getLogger(__name__)


def step_task_id(step, attempt: int) -> str:
    """The Celery task id of a step's ``attempt``-th execution (1-based); revoke uses it.

    Made of the run and the step's position, so it is known before the row is inserted.
    """
    return f"step-{step.run_id}-{step.position}-{attempt}"


def enqueue_steps(steps: Iterable, *, countdown: float | None = None) -> None:
    """Send ``pipelines.step_execute`` for each StepRun (its ``task_id`` already stored),
    on its node's queue if it names one, else on ``steps``.

    A broker that is down is logged, not raised: the step stays queued in the
    database and the sweeper sends it again (``STEP_REQUEUE_AFTER``).
    """
    from ..tasks import step_execute

    for step in steps:
        timeout = step.timeout_seconds or settings.STEP_DEFAULT_TIMEOUT
        try:
            step_execute.apply_async(
                args=[step.pk],
                task_id=step.task_id,
                queue=step.queue or step_execute.queue,
                countdown=countdown,
                soft_time_limit=timeout,
                time_limit=timeout + 30,
            )
        except Exception:  # noqa: BLE001 - the row is stored; the sweeper re-sends it
            logger.exception("could not send step %s; the sweeper will re-send it", step.pk)


def enqueue_trials(step_id: int, attempt: int, count: int, *, queue: str = "") -> None:
    """Send a step's trials to ``trials``, or to the queue its node names."""
    from ..tasks import step_trial

    for index in range(count):
        step_trial.apply_async(
            args=[step_id, attempt, index], task_id=f"trial-{step_id}-{attempt}-{index}",
            queue=queue or step_trial.queue,
        )


def enqueue_gather(step_id: int, attempt: int, *, queue: str = "") -> None:
    """Rank a step's trials and refit the best (a model fit: on ``trials`` or the node's queue)."""
    from ..tasks import step_gather

    step_gather.apply_async(
        args=[step_id, attempt], task_id=f"gather-{step_id}-{attempt}", queue=queue or step_gather.queue
    )


def enqueue_monitoring_windows(windows: Iterable[tuple[int, datetime, datetime]]) -> None:
    """Send ``pipelines.monitoring_window`` for each (deployment id, start, end).

    The task id names the window, so a window sent twice is computed by whichever
    message comes first and the other finds it stored (the task is a no-op then).
    """
    from ..tasks import monitoring_window

    for deployment_id, start, end in windows:
        monitoring_window.apply_async(
            args=[deployment_id, start.isoformat(), end.isoformat()],
            task_id=f"monitor-{deployment_id}-{start:%Y%m%dT%H%M%S}-{end:%Y%m%dT%H%M%S}",
        )


def enqueue_log_compactions(hours: Iterable[tuple[int, datetime]]) -> None:
    """Send ``pipelines.prediction_hour_compact`` for each (deployment id, hour); a task
    sent twice finds the hour claimed or compacted (a no-op)."""
    from ..tasks import prediction_hour_compact

    for deployment_id, hour in hours:
        prediction_hour_compact.apply_async(
            args=[deployment_id, hour.isoformat()], task_id=f"compact-{deployment_id}-{hour:%Y%m%dT%H}"
        )


def revoke(task_ids: Iterable[str]) -> None:
    """Stop running tasks (the worker's pool child gets SIGTERM)."""
    from mlops_studio.celery import app

    for task_id in task_ids:
        if task_id:
            app.control.revoke(task_id, terminate=True, signal="SIGTERM")


def enqueue_alert_deliveries(delivery_ids: Iterable[int]) -> None:
    """Send ``pipelines.alert_delivery_send`` for each AlertDelivery.

    A broker that is down is logged: the delivery stays pending in the database.
    """
    from ..tasks import alert_delivery_send

    for delivery_id in delivery_ids:
        try:
            alert_delivery_send.apply_async(args=[delivery_id], task_id=f"alert-delivery-{delivery_id}")
        except Exception:  # noqa: BLE001 - the row is stored; it can be sent again
            logger.exception("could not send alert delivery %s", delivery_id)


def enqueue_shadow(payload: dict) -> None:
    """Send a batch of mirrored requests to ``pipelines.shadow_record``. A broker that is
    down loses the batch (logged): shadow answers are a comparison, not a record of service."""
    from ..tasks import shadow_record

    try:
        shadow_record.apply_async(args=[payload])
    except Exception:  # noqa: BLE001
        logger.exception("could not send a shadow batch of %d requests", len(payload.get("request_ids", [])))

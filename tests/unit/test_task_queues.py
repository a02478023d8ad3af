"""Every task names its queue; the queues are the four of DESIGN.md "Storage and scale"."""

from django.conf import settings

from mlops_studio.celery import app
from pipelines import tasks

EXPECTED = {
    "pipelines.step_execute": "steps",
    "pipelines.step_trial": "trials",
    "pipelines.step_gather": "trials",
    "pipelines.sweep_stale_steps": "control",
    "pipelines.run_advance": "control",
    "pipelines.rollout_check": "control",
    "pipelines.retrain_runs_collect": "control",
    "pipelines.monitoring_tick": "monitor",
    "pipelines.monitoring_window": "monitor",
    "pipelines.alert_delivery_send": "monitor",
    "pipelines.shadow_record": "monitor",
    "pipelines.prediction_logs_drain": "monitor",
    "pipelines.prediction_hour_compact": "monitor",
    "pipelines.automation_tick": "control",
}


def test_a_worker_without_q_serves_the_four_contract_queues():
    assert [q.name for q in settings.CELERY_TASK_QUEUES] == ["steps", "trials", "monitor", "control"]
    assert set(app.amqp.queues) == {"steps", "trials", "monitor", "control"}


def test_every_task_is_routed_to_its_queue():
    ours = {name: task for name, task in app.tasks.items() if name.startswith("pipelines.")}
    assert set(ours) == set(EXPECTED), "a new task needs a queue here and in engine_task"
    for name, task in ours.items():
        options = {**task._get_exec_options()}
        routed = app.amqp.router.route(options, name, (), {}, task)
        assert routed["queue"].name == EXPECTED[name], name


def test_a_node_queue_overrides_the_step_queue():
    routed = app.amqp.router.route({"queue": "highmem"}, "pipelines.step_execute", (), {}, tasks.step_execute)
    assert routed["queue"].name == "highmem"

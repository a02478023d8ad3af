import logging
import os
import shutil
import sys
import tempfile

from celery import Celery
from celery.signals import (
    beat_init,
    celeryd_after_setup,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from . import (
    filebroker,  # noqa: F401 - registers the "atomicfs://" broker transport
    worker_threads,
)

logger = logging.getLogger(__name__)


def _worker_metrics_folder() -> str | None:
    """With ``WORKER_METRICS_PORT`` set, a ``celery worker`` counts in prometheus-client's
    multiprocess mode (``pipelines.worker_metrics`` says why). Its folder must be in the
    environment before prometheus_client is imported, so before Django loads: here. A
    folder made here is this worker's own (removed as it stops); returns it."""
    wanted = os.environ.get("WORKER_METRICS_PORT", "").strip() and "worker" in sys.argv[1:]
    if not wanted or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mlops-worker-metrics-")
    return os.environ["PROMETHEUS_MULTIPROC_DIR"]


_OWN_METRICS_FOLDER = _worker_metrics_folder()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_studio.settings")

app = Celery("mlops_studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A step captures its logs, printed output and warnings by swapping process-wide
# state (sys.stdout, the root logger, the warnings filters); that is only safe
# when each process runs one task at a time.
SAFE_POOLS = {"prefork", "processes", "solo", "celery.concurrency.prefork:TaskPool",
              "celery.concurrency.solo:TaskPool"}


@worker_init.connect
def _refuse_thread_pools(sender, **kwargs) -> None:
    pool = sender.pool_cls if isinstance(sender.pool_cls, str) else f"{sender.pool_cls.__module__}:{sender.pool_cls.__name__}"
    if pool not in SAFE_POOLS:
        raise SystemExit(
            f"MLOps Studio workers run one task per process: start them with the prefork pool "
            f"(the default) or --pool=solo, not {pool!r}"
        )


# Threads each pool process's BLAS/OpenMP libraries may use; set in the worker's main
# process before it forks the pool, which inherits it.
_threads_per_process: int | None = None


@celeryd_after_setup.connect
def _limit_threads_per_process(sender=None, instance=None, **kwargs) -> None:
    """Share the cores among the pool's processes (``mlops_studio.worker_threads`` says why).

    Runs in the worker's main process once its pool size is settled (``--autoscale``'s
    maximum, or ``--concurrency``), before the pool processes are forked; a solo pool
    runs its tasks in this process.
    """
    global _threads_per_process
    from celery.concurrency.solo import TaskPool as SoloPool

    solo = isinstance(instance.pool_cls, type) and issubclass(instance.pool_cls, SoloPool)
    processes = 1 if solo else max(1, instance.max_concurrency or instance.concurrency)
    try:
        threads, source = worker_threads.threads_per_process(processes)
    except ValueError as exc:
        raise SystemExit(f"MLOps Studio cannot start: {exc}") from exc
    worker_threads.threads_limit(threads, override=source == worker_threads.THREADS_VARIABLE)
    _threads_per_process = threads
    logger.info("BLAS/OpenMP threads per pool process: %s (%s)", threads, source)


@worker_process_init.connect
def _limit_pool_process_threads(**kwargs) -> None:
    """A forked pool process applies the limit again: a library loaded before the fork
    keeps the thread count it read as it loaded, whatever the environment says now."""
    if _threads_per_process is None:  # a solo pool, started before the limit was set
        return
    worker_threads.threads_limit(_threads_per_process, override=False)
    logger.info("pool process %s: BLAS/OpenMP threads %s", os.getpid(), worker_threads.threads_in_use())


@worker_init.connect
def _check_worker_metrics(sender=None, **kwargs) -> None:
    """A bad WORKER_METRICS_PORT stops the worker as it starts; an earlier worker's values are dropped."""
    from pipelines import worker_metrics

    if worker_metrics.port() is None:
        return
    if not os.environ.get(worker_metrics.FOLDER_VARIABLE):
        raise SystemExit("WORKER_METRICS_PORT is set but PROMETHEUS_MULTIPROC_DIR is not: start the worker "
                         "with `celery -A mlops_studio worker`, or set PROMETHEUS_MULTIPROC_DIR to an empty folder")
    if _OWN_METRICS_FOLDER is None:
        worker_metrics.empty_folder()


@worker_ready.connect
def _serve_worker_metrics(sender=None, **kwargs) -> None:
    # Once the pool's first children are forked: they need not inherit the listening socket.
    from pipelines import worker_metrics

    listen_port = worker_metrics.port()
    if listen_port is not None:
        worker_metrics.serve(listen_port)


@worker_process_shutdown.connect
def _worker_process_gone(pid=None, **kwargs) -> None:
    if os.environ.get("WORKER_METRICS_PORT", "").strip() and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from pipelines import worker_metrics

        worker_metrics.process_exited(pid or os.getpid())


@worker_shutdown.connect
def _remove_worker_metrics_folder(**kwargs) -> None:
    if _OWN_METRICS_FOLDER is not None:
        shutil.rmtree(_OWN_METRICS_FOLDER, ignore_errors=True)


@worker_init.connect
@beat_init.connect
def _check_artifact_store(sender=None, **kwargs) -> None:
    """An unreachable artifact store stops a worker or beat as it starts, with the reason."""
    from django.core.exceptions import ImproperlyConfigured

    from pipelines.services.artifacts import artifact_store_check

    try:
        artifact_store_check()
    except ImproperlyConfigured as exc:
        raise SystemExit(f"MLOps Studio cannot start: {exc}") from exc


# Queues whose tasks run no blocks: a worker serving only these need not import them.
_QUEUES_WITHOUT_STEPS = {"control", "monitor"}


@worker_init.connect
def _import_step_modules(sender=None, **kwargs) -> None:
    """Import what steps need before the pool forks (``pipelines.blocks.step_modules_import``);
    after the checks above, so a worker that cannot start says so at once."""
    if set(sender.app.amqp.queues.consume_from) <= _QUEUES_WITHOUT_STEPS:
        return
    from pipelines.blocks import step_modules_import

    step_modules_import()


def _ensure_broker_folders() -> None:
    """The filesystem broker expects its folders to exist."""
    from django.conf import settings

    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
        if key in options:
            os.makedirs(options[key], exist_ok=True)


if not os.environ.get("REDIS_URL"):
    _ensure_broker_folders()

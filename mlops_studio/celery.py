import os

from celery import Celery
from celery.signals import beat_init, worker_init

from . import filebroker  # noqa: F401 - registers the "atomicfs://" broker transport

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


def _ensure_broker_folders() -> None:
    """The filesystem broker expects its folders to exist."""
    from django.conf import settings

    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
        if key in options:
            os.makedirs(options[key], exist_ok=True)


if not os.environ.get("REDIS_URL"):
    _ensure_broker_folders()

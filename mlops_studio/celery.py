import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_studio.settings")

app = Celery("mlops_studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _ensure_broker_folders() -> None:
    """The filesystem broker expects its folders to exist."""
    from django.conf import settings

    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
        if key in options:
            os.makedirs(options[key], exist_ok=True)


if not os.environ.get("REDIS_URL"):
    _ensure_broker_folders()

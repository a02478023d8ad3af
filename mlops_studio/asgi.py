import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_studio.settings")
application = get_asgi_application()

from pipelines.services.artifacts import artifact_store_check  # noqa: E402 - needs the app loaded

artifact_store_check()  # an unreachable artifact store stops the web process as it starts

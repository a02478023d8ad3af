import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_studio.settings")
application = get_wsgi_application()

from pipelines.services.artifacts import artifact_store_check  # noqa: E402 - needs the app loaded

artifact_store_check()  # an unreachable artifact store stops the web process as it starts

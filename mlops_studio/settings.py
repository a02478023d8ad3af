"""Settings, driven by the environment.

Embedded defaults make one command run everything on a bare machine: SQLite when
DATABASE_URL is unset, Celery's filesystem broker under var/ when REDIS_URL is
unset, artifacts under var/artifacts when ARTIFACT_ROOT is unset.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-insecure-change-me-" + "x" * 32)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "pipelines",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "pipelines.api.errors.ApiBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so its process_exception sees a view's ApplicationError first.
    "pipelines.api.errors.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "mlops_studio.urls"
WSGI_APPLICATION = "mlops_studio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web and worker share the file: wait for a lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing one
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [d for d in (BASE_DIR / "static", FRONTEND_DIST) if d.exists()]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/pipelines/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Request bodies: the API answers 413 above this (CSV uploads have their own limit).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("MAX_REQUEST_BYTES", 5 * 1024 * 1024))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATASET_MAX_BYTES = int(os.environ.get("DATASET_MAX_BYTES", 50 * 1024 * 1024))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "pipelines.api.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "pipelines.api.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
# JSON bodies nested deeper than this answer 400 (API and prediction endpoints).
JSON_MAX_DEPTH = int(os.environ.get("JSON_MAX_DEPTH", "32"))
# Predictions one ASGI process admits at once (running or about to run); past it a
# request waits at most SERVING_MAX_WAIT_MS for a slot, then answers 503 + Retry-After.
SERVING_MAX_INFLIGHT = int(os.environ.get("SERVING_MAX_INFLIGHT", "64"))
SERVING_MAX_WAIT_MS = float(os.environ.get("SERVING_MAX_WAIT_MS", "50"))
SPECTACULAR_SETTINGS = {
    "TITLE": "MLOps Studio API",
    "DESCRIPTION": "Build, run, deploy and monitor scikit-learn pipelines.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Artifacts ---------------------------------------------------------------
ARTIFACT_ROOT = Path(os.environ.get("ARTIFACT_ROOT", VAR_DIR / "artifacts"))
# Key for the HMAC that guards every pickled artifact; defaults to SECRET_KEY.
ARTIFACT_SIGNING_KEY = os.environ.get("ARTIFACT_SIGNING_KEY", SECRET_KEY)

# --- Celery ------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_DIR = VAR_DIR / "celery-broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task whose worker vanished is redelivered after this long; steps
        # also carry a heartbeat so the sweeper notices sooner.
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", 3600)),
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
        # The file broker polls its folder; 1 s (the default) would add up to a
        # second per step.
        "polling_interval": 0.05,
    }
# Keep each worker process's database connection across tasks (Celery's
# default closes it after every task); a health check before each task
# replaces a connection the server dropped (pipelines.tasks).
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", 1000))
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-steps": {"task": "pipelines.sweep_stale_steps", "schedule": 30.0},
}
# A running step touches its heartbeat this often; the sweeper treats a step
# whose heartbeat is older than STEP_HEARTBEAT_TIMEOUT as lost.
STEP_HEARTBEAT_SECONDS = int(os.environ.get("STEP_HEARTBEAT_SECONDS", 10))
STEP_HEARTBEAT_TIMEOUT = int(os.environ.get("STEP_HEARTBEAT_TIMEOUT", 60))
# A step queued this long without being claimed is sent to the broker again
# (its message may have been lost with a broker restart).
STEP_REQUEUE_AFTER = int(os.environ.get("STEP_REQUEUE_AFTER", 600))
STEP_DEFAULT_TIMEOUT = int(os.environ.get("STEP_DEFAULT_TIMEOUT", 3600))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
WHITENOISE_USE_FINDERS = True

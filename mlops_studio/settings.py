"""Settings, driven by the environment.

Embedded defaults make one command run everything on a bare machine: SQLite when
DATABASE_URL is unset, Celery's filesystem broker under var/ when REDIS_URL is
unset, artifacts under var/artifacts when ARTIFACT_ROOT is unset.
"""

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from mlops_studio import secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None


DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else var/secret_key; never a public default.

    The rule and the message live in mlops_studio.secret_key.
    """
    key = os.environ.get("SECRET_KEY", "").strip()
    if key in secret_key.PUBLIC_DEVELOPMENT_KEYS:
        raise ImproperlyConfigured(
            "SECRET_KEY is the public development key from older versions; set a long random value"
        )
    if key:
        return key
    path = VAR_DIR / secret_key.KEY_FILE_NAME
    stored = secret_key.key_file_read(path)
    if stored:
        return stored
    if DEBUG:
        return secret_key.key_file_ensure(path)
    raise ImproperlyConfigured(secret_key.MISSING_KEY_MESSAGE.format(path=path))


SECRET_KEY = _secret_key()
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
    # Swagger UI's JavaScript and CSS, served from our static files: the docs page
    # works without internet (no CDN).
    "drf_spectacular_sidecar",
    "pipelines",
]

MIDDLEWARE = [
    # Probes (/healthz, /readyz) are answered before host checks and SSL redirects.
    "pipelines.health.HealthMiddleware",
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

# --- Sign-in ------------------------------------------------------------------
# Every password check goes through this backend (the token API, /accounts/login/,
# /admin/), so the failed-attempt limits below apply to all of them.
AUTHENTICATION_BACKENDS = ["pipelines.auth_backend.ThrottledModelBackend"]
# Failed sign-ins allowed per username and per client address within
# LOGIN_THROTTLE_WINDOW seconds (counted from the first failure); further attempts
# get 429 with Retry-After until the window ends. 0 turns a limit off.
LOGIN_THROTTLE_USER = env_int("LOGIN_THROTTLE_USER", 5)
LOGIN_THROTTLE_IP = env_int("LOGIN_THROTTLE_IP", 20)
LOGIN_THROTTLE_WINDOW = env_int("LOGIN_THROTTLE_WINDOW", 300)
# Reverse proxies in front of the app: the client address is taken from
# X-Forwarded-For that many hops back (0: the socket's peer address).
NUM_PROXIES = env_int("NUM_PROXIES", 0)

# --- HTTPS (all off by default: `make run` serves plain HTTP on localhost) ------
# Behind TLS, turn these on; `manage.py check --deploy` is then clean (README).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)


def _proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """``X-Forwarded-Proto=https`` (or ``HTTP_X_FORWARDED_PROTO=https``) → Django's tuple.

    Opt-in: only set it when a proxy you control always sets (or strips) that
    header, otherwise any client could claim to be on HTTPS.
    """
    value = value.strip()
    if not value:
        return None
    name, _, expected = value.partition("=")
    name, expected = name.strip(), expected.strip() or "https"
    if not name:
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER must look like X-Forwarded-Proto=https, got {value!r}"
        )
    if not name.upper().startswith("HTTP_"):
        name = "HTTP_" + name.replace("-", "_")
    return name.upper(), expected


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(os.environ.get("SECURE_PROXY_SSL_HEADER", ""))

# Request bodies: the API answers 413 above this (CSV uploads have their own limit).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("MAX_REQUEST_BYTES", 5 * 1024 * 1024))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATASET_MAX_BYTES = int(os.environ.get("DATASET_MAX_BYTES", 1024 * 1024 * 1024))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "pipelines.api.schema.ApiAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "pipelines.api.errors.exception_handler",
    "NUM_PROXIES": NUM_PROXIES or None,
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
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The serving views are plain Django views; this hook documents them.
    # JSON bodies (uploads declare multipart themselves); form encoding works but is not advertised.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "PREPROCESSING_HOOKS": ["pipelines.api.serving_schema.add_serving_endpoints"],
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "pipelines.models.run.RunStatus",
        "StepStatusEnum": "pipelines.models.run.StepStatus",
        "RoleEnum": "pipelines.models.workspace.Role",
        "TriggerKindEnum": "pipelines.models.automation.TriggerKind",
        "ReferenceKindEnum": "pipelines.models.monitoring.ReferenceKind",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "deploymentKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "a deployment's own key: `Authorization: Bearer <key>`",
            },
        },
    },
}

# Key material for the Fernet key that encrypts saved database connections'
# passwords (HKDF-derived, pipelines.services.connections); defaults to SECRET_KEY.
CONNECTION_ENCRYPTION_KEY = os.environ.get("CONNECTION_ENCRYPTION_KEY", "").strip() or SECRET_KEY

# --- Artifacts ---------------------------------------------------------------
ARTIFACT_ROOT = Path(os.environ.get("ARTIFACT_ROOT", VAR_DIR / "artifacts"))
# Where artifacts live: ARTIFACT_ROOT (a local folder) unless ARTIFACT_STORAGE names an
# S3-compatible bucket, s3://bucket/prefix; AWS_ENDPOINT_URL points at a store other than
# AWS, credentials come from the usual AWS_* variables. Then nothing is written under
# ARTIFACT_ROOT, and each process keeps a cache of what it read, checked by hash, in
# ARTIFACT_CACHE_DIR (at most ARTIFACT_CACHE_MAX_MB; least recently used go first).
ARTIFACT_STORAGE = os.environ.get("ARTIFACT_STORAGE", "").strip()
AWS_ENDPOINT_URL = os.environ.get("AWS_ENDPOINT_URL", "").strip()
ARTIFACT_CACHE_DIR = Path(
    os.environ.get("ARTIFACT_CACHE_DIR", "").strip()
    or Path(os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache") / "mlops-studio" / "artifacts"
)
ARTIFACT_CACHE_MAX_MB = env_int("ARTIFACT_CACHE_MAX_MB", 2048)
if ARTIFACT_STORAGE and not ARTIFACT_STORAGE.startswith("s3://"):
    raise ImproperlyConfigured(f"ARTIFACT_STORAGE must look like s3://bucket/prefix, not {ARTIFACT_STORAGE!r}")
# Key for the HMAC that guards every pickled artifact; defaults to SECRET_KEY.
ARTIFACT_SIGNING_KEY = os.environ.get("ARTIFACT_SIGNING_KEY", "").strip() or SECRET_KEY
if ARTIFACT_SIGNING_KEY in secret_key.PUBLIC_DEVELOPMENT_KEYS:
    # Anyone could sign a pickle with it, and loading a model unpickles it.
    raise ImproperlyConfigured(
        "ARTIFACT_SIGNING_KEY is the public development key from older versions; "
        "set a long random value"
    )

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
    # Celery's filesystem transport, writing each message atomically (mlops_studio/filebroker.py).
    CELERY_BROKER_URL = "atomicfs://"
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
# Long tasks (steps, trials) must not sit reserved behind another one in a busy
# process: each process takes one message at a time.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Queues (DESIGN.md "Storage and scale"): every task names its queue in
# pipelines.tasks, so a long step never delays a run's progress (control). A worker
# started without -Q serves these four; a node's "queue" option names any other,
# which only a worker started with -Q <that name> serves.
TASK_QUEUES = ("steps", "trials", "monitor", "control")
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name) for name in TASK_QUEUES]
CELERY_TASK_DEFAULT_QUEUE = "steps"
CELERY_TASK_CREATE_MISSING_QUEUES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A running step touches its heartbeat this often; a step whose heartbeat is
# older than STEP_HEARTBEAT_TIMEOUT (two and a half beats by default) is taken
# over by the sweeper, which beat runs every heartbeat interval, so a run whose
# worker died goes on within seconds. A taken-over attempt can write nothing
# (every write is conditional on the attempt), so a slow beat costs time, never
# a duplicate output.
STEP_HEARTBEAT_SECONDS = float(os.environ.get("STEP_HEARTBEAT_SECONDS", 2))
STEP_HEARTBEAT_TIMEOUT = float(os.environ.get("STEP_HEARTBEAT_TIMEOUT", 2.5 * STEP_HEARTBEAT_SECONDS))
# Schedules and triggers (services.schedules, services.triggers) are looked at this
# often: a schedule starts at most this late. A dataset version starts its triggers
# once it has been the latest for TRIGGER_DEBOUNCE_SECONDS (a burst of uploads → one run).
AUTOMATION_TICK_SECONDS = float(os.environ.get("AUTOMATION_TICK_SECONDS", 2))
TRIGGER_DEBOUNCE_SECONDS = float(os.environ.get("TRIGGER_DEBOUNCE_SECONDS", 5))
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-steps": {"task": "pipelines.sweep_stale_steps", "schedule": STEP_HEARTBEAT_SECONDS},
    "automation-tick": {"task": "pipelines.automation_tick", "schedule": AUTOMATION_TICK_SECONDS},
}
# Canary splits are compared with the version they follow this often (services.rollout).
ROLLOUT_CHECK_SECONDS = float(os.environ.get("ROLLOUT_CHECK_SECONDS", 30))
CELERY_BEAT_SCHEDULE["rollout-check"] = {"task": "pipelines.rollout_check", "schedule": ROLLOUT_CHECK_SECONDS}
# Prediction logs wait in a Redis stream until a worker drains them into the
# database and the Parquet copy (pipelines.services.prediction_logs); without Redis
# each serving process writes its own (pipelines.serving.logbuffer).
PREDICTION_LOG_DRAIN_SECONDS = float(os.environ.get("PREDICTION_LOG_DRAIN_SECONDS", 1))
# The Parquet copy is one file per drained batch; the monitoring tick merges an hour's
# files into one once the hour is this long over (late drains: a batch claimed again
# after its drainer died waits PREDICTION_LOG_RECLAIM_SECONDS). A compaction holds its
# hour at most PREDICTION_LOG_COMPACT_CLAIM_SECONDS (pipelines.services.log_compaction).
PREDICTION_LOG_COMPACT_GRACE_SECONDS = float(os.environ.get("PREDICTION_LOG_COMPACT_GRACE_SECONDS", 600))
PREDICTION_LOG_COMPACT_CLAIM_SECONDS = float(os.environ.get("PREDICTION_LOG_COMPACT_CLAIM_SECONDS", 900))
# GET /metrics answers a scraper sending "Authorization: Bearer <METRICS_TOKEN>" (and
# staff users); unset, only staff users (pipelines.views.metrics).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
if REDIS_URL:
    CELERY_BEAT_SCHEDULE["drain-prediction-logs"] = {
        "task": "pipelines.prediction_logs_drain",
        "schedule": PREDICTION_LOG_DRAIN_SECONDS,
        # A drain that waited this long is superseded by the next one.
        "options": {"expires": max(5.0, 10 * PREDICTION_LOG_DRAIN_SECONDS)},
    }
# A step queued this long without being claimed is sent to the broker again
# (its message may have been lost with a broker restart).
STEP_REQUEUE_AFTER = int(os.environ.get("STEP_REQUEUE_AFTER", 600))
STEP_DEFAULT_TIMEOUT = int(os.environ.get("STEP_DEFAULT_TIMEOUT", 3600))
# Estimators' own parallelism (n_jobs) and model.tune's in-step search on an existing
# Dask cluster, through joblib's dask backend (pipelines.services.training).
TRAINING_BACKEND = os.environ.get("TRAINING_BACKEND", "").strip()
if TRAINING_BACKEND and not re.fullmatch(r"dask://[A-Za-z0-9_.\-\[\]:]+:\d+", TRAINING_BACKEND):
    raise ImproperlyConfigured(f"TRAINING_BACKEND must be dask://host:port or unset (got {TRAINING_BACKEND!r})")

# --- Cache (login throttle counters) ----------------------------------------------
# Shared by every web process: through Redis when REDIS_URL is set (the prefix keeps
# these keys apart from Celery's and the serving stamp in the same database), else
# through files under var/ — `make run` serves with several gunicorn processes, and a
# per-process memory cache would give each of them its own failure counters.
CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "mlops-cache")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            # The default (300) culls entries at random once exceeded: many
            # throw-away usernames would then evict a victim's counter.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# --- Email ----------------------------------------------------------------------
# Email is on only when configured: EMAIL_BACKEND (smtp, console, file or a dotted
# path) or EMAIL_HOST (implies smtp). Without it the password-reset pages say so
# instead of claiming a message was sent. `make run` uses the console backend.
_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
_email_backend = os.environ.get("EMAIL_BACKEND", "").strip()
EMAIL_HOST = os.environ.get("EMAIL_HOST", "").strip()
EMAIL_ENABLED = bool(_email_backend or EMAIL_HOST)
EMAIL_BACKEND = _EMAIL_BACKENDS.get(_email_backend, _email_backend or _EMAIL_BACKENDS["smtp"])
EMAIL_HOST = EMAIL_HOST or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "MLOps Studio <noreply@localhost>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
WHITENOISE_USE_FINDERS = True

# --- Alerts and retraining (issue 9) ------------------------------------------------
# Webhook and email deliveries are retried with exponential backoff (base × 2^(n-1),
# at most an hour apart) up to ALERT_DELIVERY_MAX_ATTEMPTS attempts in all.
ALERT_DELIVERY_MAX_ATTEMPTS = env_int("ALERT_DELIVERY_MAX_ATTEMPTS", 6)
ALERT_DELIVERY_BACKOFF_SECONDS = float(os.environ.get("ALERT_DELIVERY_BACKOFF_SECONDS", 10))
ALERT_WEBHOOK_TIMEOUT = float(os.environ.get("ALERT_WEBHOOK_TIMEOUT", 10))
# A retrain run's model is registered as a candidate when the run has succeeded:
# beat looks for finished retrain runs this often (and every monitoring tick does too).
RETRAIN_COLLECT_SECONDS = float(os.environ.get("RETRAIN_COLLECT_SECONDS", 30))
CELERY_BEAT_SCHEDULE["collect-retrain-runs"] = {
    "task": "pipelines.retrain_runs_collect", "schedule": RETRAIN_COLLECT_SECONDS,
}
# --- Monitoring ----------------------------------------------------------------------
# Windows are calendar-aligned UTC buckets; the beat's tick computes the last closed
# window of each size in MONITORING_WINDOW_SIZES (comma-separated: hour, day, week).
MONITORING_WINDOW_SIZES = [
    s.strip() for s in os.environ.get("MONITORING_WINDOW_SIZES", "day").split(",") if s.strip()
]
MONITORING_TICK_SECONDS = float(os.environ.get("MONITORING_TICK_SECONDS", 300))
MONITORING_REFERENCE_ROWS = int(os.environ.get("MONITORING_REFERENCE_ROWS", 10_000))
MONITORING_WINDOW_ROWS = int(os.environ.get("MONITORING_WINDOW_ROWS", 5_000))
MONITORING_MIN_ROWS = int(os.environ.get("MONITORING_MIN_ROWS", 100))  # no drift verdict below
MONITORING_MIN_LABELS = int(os.environ.get("MONITORING_MIN_LABELS", 50))  # no performance below
CELERY_BEAT_SCHEDULE["monitoring-tick"] = {"task": "pipelines.monitoring_tick", "schedule": MONITORING_TICK_SECONDS}

"""Settings for uzwhisper.

Every value comes from an environment variable with a default that works on a fresh machine with
no servers (SQLite, a file-backed broker, an in-memory channel layer, local media, the bundled
model). Production sets DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, AWS_* and SENTRY_DSN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env")
VAR_DIR = Path(env.str("UZWHISPER_VAR_DIR", default=str(BASE_DIR / "var")))

# The default key is for a local demo only; deploy/ manifests require SECRET_KEY to be set.
SECRET_KEY = env.str("SECRET_KEY", default="uzwhisper-local-development-key-not-for-production")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

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
    "drf_spectacular_sidecar",
    "channels",
    "django_prometheus",
    "transcription",
    "collection",
    "annotation",
    "training",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "uzwhisper.urls"
ASGI_APPLICATION = "uzwhisper.asgi.application"
WSGI_APPLICATION = None

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
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The worker and the web process write to one file: wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    )
else:
    # Under ASGI each request runs its sync code in a thread of its own, so a persistent
    # connection per thread (CONN_MAX_AGE > 0) piles up until PostgreSQL refuses clients ("too
    # many clients already"). Instead every process (web, Celery worker, stream worker) borrows
    # from one pool of its own and gives the connection back at the end of each request or task.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # With the pool: a connection broken by a database restart is replaced, not handed out.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=10),
            # A request that finds every connection busy this long fails with psycopg_pool's
            # "couldn't get a connection after N sec" instead of queueing without end.
            "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Made by the web process as it starts (uzwhisper.asgi), not here.
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "default_acl": None,
            "file_overwrite": False,
        },
    }
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "transcription:upload"
LOGOUT_REDIRECT_URL = "login"

# --- Redis: cache and channel layer ----------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # Receivers wait in 5 s blocking reads (BZPOPMIN); a socket timeout at or under
                # that makes redis-py raise, and the receiver (a page's socket, the stream
                # worker) dies silently. Give the read room to finish.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "prefix": env.str("CHANNEL_PREFIX", "uzwhisper"),
                # Live audio arrives ten frames a second per stream.
                "capacity": 1000,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# The in-memory layer does not cross processes, so job pages then watch the database instead of
# waiting for worker events (see transcription/consumers.py).
CHANNEL_LAYER_CROSSES_PROCESSES = bool(REDIS_URL)

# --- Celery ----------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The folders are made by a worker as it starts and by a producer before it publishes
    # (uzwhisper.celery), not here: importing settings creates no folder.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # The exchange tables: kombu's default is `control/` in the working directory.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # The file transport polls; its default second would add up to 1 s to every job.
        "polling_interval": 0.1,
    }
elif CELERY_BROKER_URL.startswith("redis"):
    # Unacknowledged tasks of a dead worker come back after this many seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_DEFAULT_QUEUE", default="default")
CELERY_ASR_QUEUE = env.str("CELERY_ASR_QUEUE", default="asr")
# Fine-tune runs (training.tasks), for GPU workers with requirements-train.txt installed.
CELERY_TRAIN_QUEUE = env.str("CELERY_TRAIN_QUEUE", default="train")
CELERY_TASK_ROUTES = {
    "transcription.tasks.*": {"queue": CELERY_ASR_QUEUE},
    "training.tasks.*": {"queue": CELERY_TRAIN_QUEUE},
    # The clip checks decode with the model too (collection.model_checks).
    "collection.tasks.*": {"queue": CELERY_ASR_QUEUE},
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With `celery -A uzwhisper beat`, jobs whose worker died are queued again within a minute.
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-jobs": {"task": "transcription.tasks.requeue_stale_jobs", "schedule": 60.0}
}
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Whisper ----------
BUNDLED_MODEL_DIR = VAR_DIR / "models" / "whisper-base"
WHISPER_MODEL = env.str("WHISPER_MODEL", default=str(BUNDLED_MODEL_DIR))
WHISPER_DEVICE = env.str("WHISPER_DEVICE", default="auto")
WHISPER_COMPUTE_TYPE = env.str("WHISPER_COMPUTE_TYPE", default="")  # "" = int8 / int8_float16
WHISPER_CPU_THREADS = env.int("WHISPER_CPU_THREADS", default=0)  # 0 = all cores
# Greedy decoding by default: on 2 CPU cores beam 5 is about 4x slower for a small gain.
WHISPER_DEFAULT_BEAM_SIZE = env.int("WHISPER_DEFAULT_BEAM_SIZE", default=1)

# --- Live streams ----------
# Fine-tune runs: where their checkpoints, conversions and logs go; the WER margin a conversion
# may lose against its checkpoint; the free disk a run needs to go on; how long a run's
# heartbeat may be silent before a redelivered task calls its worker lost.
TRAIN_RUNS_DIR = Path(env.str("TRAIN_RUNS_DIR", default=str(VAR_DIR / "training-runs")))
TRAIN_GATE_MARGIN = env.float("TRAIN_GATE_MARGIN", default=0.02)
TRAIN_MIN_FREE_BYTES = env.int("TRAIN_MIN_FREE_BYTES", default=2 * 1024**3)
TRAIN_LEASE_SECONDS = env.int("TRAIN_LEASE_SECONDS", default=120)
TRAIN_MIN_ROWS = env.int("TRAIN_MIN_ROWS", default=2)
TRAIN_TIME_LIMIT_SECONDS = env.int("TRAIN_TIME_LIMIT_SECONDS", default=7 * 24 * 3600)
# The largest training-data upload (a ZIP of manifest.jsonl and audio), compressed or extracted.
TRAIN_UPLOAD_MAX_BYTES = env.int("TRAIN_UPLOAD_MAX_BYTES", default=2 * 1024**3)
STREAM_SLOTS = env.int("STREAM_SLOTS", default=2)  # concurrent sessions per stream worker
STREAM_IDLE_SECONDS = env.float("STREAM_IDLE_SECONDS", default=30)
STREAM_MAX_SECONDS = env.float("STREAM_MAX_SECONDS", default=3600)
STREAM_MAX_FRAME_BYTES = env.int("STREAM_MAX_FRAME_BYTES", default=64000)  # 2 s of 16 kHz PCM16
STREAM_ADMISSION_WAIT_SECONDS = env.float("STREAM_ADMISSION_WAIT_SECONDS", default=3)
# How long a client waits for a worker that took its request while loading the model.
STREAM_MODEL_LOAD_SECONDS = env.float("STREAM_MODEL_LOAD_SECONDS", default=120)
# How often a stream worker asks the model registry whether another version is in production.
STREAM_MODEL_CHECK_SECONDS = env.float("STREAM_MODEL_CHECK_SECONDS", default=5)
STREAM_HEARTBEAT_SECONDS = env.float("STREAM_HEARTBEAT_SECONDS", default=1)
STREAM_HEARTBEAT_TIMEOUT_SECONDS = env.float("STREAM_HEARTBEAT_TIMEOUT_SECONDS", default=5)
# Without a shared channel layer the stream worker must live in the web process (laptop demo).
STREAM_WORKER_IN_PROCESS = env.bool(
    "STREAM_WORKER_IN_PROCESS", default=not CHANNEL_LAYER_CROSSES_PROCESSES
)

# --- Collection ----------
# A clip offered to a validator is theirs alone this long (Common Voice leases its batches too).
COLLECTION_LEASE_SECONDS = env.int("COLLECTION_LEASE_SECONDS", default=600)
# Validators whose votes disagree with final verdicts more often than this are listed for admins.
COLLECTION_DISAGREEMENT_THRESHOLD = env.float("COLLECTION_DISAGREEMENT_THRESHOLD", default=0.3)
# A prompt is one sentence: a take longer than this is not a reading of it (a forgotten Stop).
COLLECTION_MAX_CLIP_SECONDS = env.float("COLLECTION_MAX_CLIP_SECONDS", default=30.0)
COLLECTION_MAX_CLIP_BYTES = env.int("COLLECTION_MAX_CLIP_BYTES", default=10 * 1024 * 1024)
# Clips whose model transcript is further from the prompt than this CER are refused, per prompt
# language. Russian only for now: on the test clips the bundled model's CER is 0.00-0.08 against
# the clip's own sentence and 0.82-1.43 against another; for Uzbek it is 0.87-1.00 against either
# (zero-shot Whisper cannot write Uzbek), so Uzbek and mixed CERs are recorded, not enforced,
# until a fine-tuned model is promoted. Format: "ru=0.5,uz=0.6".
COLLECTION_MAX_CER = {
    language: float(value)
    for language, value in env.dict("COLLECTION_MAX_CER", default={"ru": "0.5"}).items()
}
# Per volunteer: recordings per minute, votes per minute, prompt reports per hour.
COLLECTION_CLIPS_PER_MINUTE = env.int("COLLECTION_CLIPS_PER_MINUTE", default=10)
COLLECTION_VOTES_PER_MINUTE = env.int("COLLECTION_VOTES_PER_MINUTE", default=30)
COLLECTION_REPORTS_PER_HOUR = env.int("COLLECTION_REPORTS_PER_HOUR", default=20)

# --- Telegram bot (collection.telegram) ----------
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
# Telegram sends it in X-Telegram-Bot-Api-Secret-Token (setWebhook's secret_token); the webhook
# refuses every request while it is empty.
TELEGRAM_WEBHOOK_SECRET = env.str("TELEGRAM_WEBHOOK_SECRET", default="")
# The Bot API server: Telegram's, a local Bot API server, or a test stand-in.
TELEGRAM_API_BASE_URL = env.str("TELEGRAM_API_BASE_URL", default="https://api.telegram.org")
# Conversation state is written to the database this often: a crash loses at most this much.
TELEGRAM_PERSISTENCE_SECONDS = env.float("TELEGRAM_PERSISTENCE_SECONDS", default=1.0)
# Different volunteers' updates handled at once (one volunteer's always in order).
TELEGRAM_CONCURRENT_UPDATES = env.int("TELEGRAM_CONCURRENT_UPDATES", default=32)
# How long the bot waits for a clip's checks before telling the volunteer to ask again.
COLLECTION_CHECK_WAIT_SECONDS = env.float("COLLECTION_CHECK_WAIT_SECONDS", default=120)

# --- Limits ----------
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=200 * 1024 * 1024)
MAX_AUDIO_SECONDS = env.float("MAX_AUDIO_SECONDS", default=3 * 3600)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
JOB_LEASE_SECONDS = env.int("JOB_LEASE_SECONDS", default=120)
# Decoded segments are stored (and pushed to pages) in batches at most this far apart: fewer
# commits and events per job, and a cancel takes effect within this much decoding time.
SEGMENT_FLUSH_SECONDS = env.float("SEGMENT_FLUSH_SECONDS", default=1.0)
TRANSCRIBE_TIME_LIMIT_SECONDS = env.int("TRANSCRIBE_TIME_LIMIT_SECONDS", default=6 * 3600)
OPENAI_API_WAIT_SECONDS = env.int("OPENAI_API_WAIT_SECONDS", default=900)

# --- REST API ----------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "uzwhisper.auth.BearerOrTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "uzwhisper.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "uzwhisper API",
    # Markdown, shown at the top of /api/docs/: it also documents the WebSocket protocols.
    "DESCRIPTION": (BASE_DIR / "uzwhisper" / "api_description.md").read_text(encoding="utf-8"),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Operation ids and tags from the path after /api (v1_jobs_list), not after the prefix
    # common to /api/v1/ and the OpenAI-compatible /v1/.
    "SCHEMA_PATH_PREFIX": "/api",
    # One name per choice set (valid component names: no brackets from timestamp_granularities[]).
    "ENUM_NAME_OVERRIDES": {
        "LanguageEnum": "transcription.models.Job.Language",
        "TimestampGranularityEnum": "transcription.openai_api.TIMESTAMP_GRANULARITIES",
        "OpenAIErrorTypeEnum": "transcription.openai_api.ERROR_TYPES",
        # Jobs keep the names they had before other apps brought sources and statuses.
        "SourceEnum": "transcription.models.Job.Source",
        "StatusEnum": "transcription.models.Job.Status",
        "ClipSourceEnum": "collection.models.Clip.Source",
        "ClipStatusEnum": "collection.models.Clip.Status",
        "PromptLanguageEnum": "collection.models.Prompt.Language",
        "AnnotationTaskSourceEnum": "annotation.models.Task.Source",
        "AnnotationTaskCreateSourceEnum": "annotation.models.CREATABLE_SOURCES",
        "AnnotationTaskStatusEnum": "annotation.models.Task.Status",
        "AnnotationStatusEnum": "annotation.models.Annotation.Status",
        "ReviewDecisionEnum": "annotation.models.Review.Decision",
    },
}

# --- Observability ----------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every request at INFO with its URL, and the Telegram bot's URLs carry its
        # token (and a long poll every few seconds).
        "httpx": {"level": "WARNING"},
    },
}
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
    )

# --- Annotation ----------
# A task opened by an annotator is theirs alone this long after their last save; then another
# annotator may take it (their draft is kept and seeds the next one).
ANNOTATION_LOCK_SECONDS = env.int("ANNOTATION_LOCK_SECONDS", default=30 * 60)

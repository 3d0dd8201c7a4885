"""Test settings: the real PostgreSQL, Redis and broker on this machine, with names of their own.

Each default can be overridden from the environment (CI sets none of them).
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/uzwhisper")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CELERY_ASR_QUEUE", "asr-test")
os.environ.setdefault("CELERY_TRAIN_QUEUE", "train-test")
os.environ.setdefault("TRAIN_LEASE_SECONDS", "6")
os.environ.setdefault("TRAIN_RUNS_DIR", tempfile.mkdtemp(prefix="uzwhisper-test-runs-"))
os.environ.setdefault("CHANNEL_PREFIX", "uzwhisper-test")
# Short leases so a killed worker's job is taken over within seconds.
os.environ.setdefault("JOB_LEASE_SECONDS", "6")
os.environ.setdefault("CELERY_VISIBILITY_TIMEOUT", "10")
os.environ.setdefault("WHISPER_CPU_THREADS", "2")
# Live streams: short timeouts so idle, busy and lost-worker cases resolve in seconds.
os.environ.setdefault("STREAM_IDLE_SECONDS", "4")
os.environ.setdefault("STREAM_ADMISSION_WAIT_SECONDS", "2")
os.environ.setdefault("STREAM_HEARTBEAT_TIMEOUT_SECONDS", "3")
# Stream workers ask the model registry every second, so a promotion reaches them quickly.
os.environ.setdefault("STREAM_MODEL_CHECK_SECONDS", "1")
# One media folder per test run, shared with the worker and server processes it starts.
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="uzwhisper-test-media-"))

from uzwhisper.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

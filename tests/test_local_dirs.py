"""Folders under VAR_DIR are made by the process that needs them, never by importing settings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support import PYTHON, ROOT
from uzwhisper.local_dirs import broker_folders

# The embedded defaults: SQLite, the file broker, no Redis.
EMBEDDED_UNSET = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MEDIA_ROOT")


def _embedded_env(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in EMBEDDED_UNSET}
    env.update(DJANGO_SETTINGS_MODULE="uzwhisper.settings", UZWHISPER_VAR_DIR=str(var))
    return env


def test_the_file_broker_folders_come_from_its_transport_options(tmp_path):
    options = {
        "data_folder_in": str(tmp_path / "queue"),
        "data_folder_out": str(tmp_path / "queue"),
        "control_folder": str(tmp_path / "control"),
        "processed_folder": str(tmp_path / "processed"),
        "store_processed": False,
        "polling_interval": 0.1,
    }

    assert broker_folders("filesystem://", options) == [tmp_path / "queue", tmp_path / "control"]
    assert broker_folders("filesystem://", {**options, "store_processed": True})[-1] == (
        tmp_path / "processed"
    )
    assert broker_folders("redis://127.0.0.1:6379/0", options) == []
    assert broker_folders(None, options) == []


def test_importing_settings_and_setting_django_up_make_no_folder(tmp_path):
    var = tmp_path / "var"
    code = "import uzwhisper.settings, django; django.setup(); import transcription.tasks"

    subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=_embedded_env(var), check=True)

    assert not var.exists()
    assert not (ROOT / "control").exists()  # kombu's default, in the working directory


def test_manage_py_makes_the_sqlite_folder_it_migrates_into(tmp_path):
    var = tmp_path / "var"

    subprocess.run(
        [PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=_embedded_env(var), check=True
    )

    assert sorted(p.name for p in var.iterdir()) == ["db.sqlite3"]


def test_the_web_process_makes_static_root_for_whitenoise(tmp_path):
    var = tmp_path / "var"
    code = (
        "import warnings; warnings.filterwarnings('error', 'No directory at');"
        "from uzwhisper.asgi import application"
    )

    subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=_embedded_env(var), check=True)

    assert sorted(p.name for p in var.iterdir()) == ["staticfiles"]

"""Folders the embedded defaults keep under VAR_DIR, made by the process that needs them when it
needs them: importing settings touches no disk (a settings import in a build step, a check or a
test must not leave folders behind, and a read-only VAR_DIR must not break it).

- the file broker's folders: by a Celery worker as it starts, and by any process before it
  publishes a task (`uzwhisper.celery`);
- STATIC_ROOT, which WhiteNoise looks for at start-up: by the web process (`uzwhisper.asgi`);
- the SQLite database's folder: by `manage.py` (`migrate` creates the file in it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

FILESYSTEM_BROKER = "filesystem://"


def broker_folders(broker_url: str | None, transport_options: Mapping[str, Any]) -> list[Path]:
    """The folders kombu's file transport reads and writes for this broker; none for another
    broker. Its processed folder only when processed messages are kept."""
    if not (broker_url or "").startswith(FILESYSTEM_BROKER):
        return []
    keys = ["data_folder_in", "data_folder_out", "control_folder"]
    if transport_options.get("store_processed"):
        keys.append("processed_folder")
    return list(dict.fromkeys(Path(transport_options[k]) for k in keys if k in transport_options))


def make_broker_folders(broker_url: str | None, transport_options: Mapping[str, Any]) -> None:
    for folder in broker_folders(broker_url, transport_options):
        folder.mkdir(parents=True, exist_ok=True)


def make_static_root() -> None:
    """STATIC_ROOT, empty until `collectstatic` fills it: WhiteNoise warns on every start without
    it, while WHITENOISE_USE_FINDERS serves the files from the apps' folders meanwhile."""
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def make_database_folder() -> None:
    """The folder of a SQLite database file (SQLite creates the file, not its folder)."""
    from django.conf import settings
    from django.db.backends.sqlite3.creation import DatabaseCreation

    database = settings.DATABASES["default"]
    name = database.get("NAME")
    if (
        database["ENGINE"] == "django.db.backends.sqlite3"
        and name
        and not DatabaseCreation.is_in_memory_db(name)
    ):
        Path(name).parent.mkdir(parents=True, exist_ok=True)

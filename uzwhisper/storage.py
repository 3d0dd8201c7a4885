"""Stored files as local paths: decoders (PyAV, the engine) read paths, while Django storage may
be S3/MinIO. Shared by every app that decodes stored audio."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.db.models.fields.files import FieldFile


@contextlib.contextmanager
def local_audio_path(audio: FieldFile) -> Iterator[Path]:
    """A local path for a stored file: the file itself on disk storage, else a temporary copy."""
    try:
        yield Path(audio.path)
        return
    except NotImplementedError:
        pass
    suffix = Path(audio.name or "").suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with audio.open("rb") as source:
            shutil.copyfileobj(source, tmp)
        tmp.flush()
        yield Path(tmp.name)

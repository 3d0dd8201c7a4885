"""Which model serves. Every process that decodes (the ASR worker, the stream worker, evaluation)
gets its model through `engine_config()`: the production version of the model registry
(`ModelVersion`), or `WHISPER_MODEL` (the bundled base by default) while the registry holds none.
Nothing outside this module decides which weights load.

Workers call `serving_model()` before each job (ASR) or every `STREAM_MODEL_CHECK_SECONDS`
(stream worker): one indexed query, so a promotion reaches them without a restart. A production
version that fails to load is reported to the registry, which rolls back to the version it
replaced; the worker goes on with the model it had.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import TYPE_CHECKING

from django.conf import settings

from uzwhisper.asr.engine import EngineConfig

if TYPE_CHECKING:
    from uzwhisper.asr.engine import LoadedModel

logger = logging.getLogger(__name__)


def _config(model_path: str) -> EngineConfig:
    return EngineConfig(
        model_path=model_path,
        device=settings.WHISPER_DEVICE,
        compute_type=settings.WHISPER_COMPUTE_TYPE,
        cpu_threads=settings.WHISPER_CPU_THREADS,
    )


def _production() -> tuple[uuid.UUID | None, str, EngineConfig]:
    """(version id, version name, engine configuration) of what should serve now."""
    from .selectors import model_version_production

    version = model_version_production()
    if version is None:
        return None, "", _config(settings.WHISPER_MODEL)
    return version.id, version.name, _config(version.model_path)


def engine_config() -> EngineConfig:
    """The engine configuration of the model in production: the registry's production version
    (`WHISPER_MODEL` for the bundled base, or when nothing is registered), with the device,
    compute type and threads from settings."""
    return _production()[2]


class _Serving:
    """This process's serving model: the last production version that loaded."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.model: LoadedModel | None = None
        self.config: EngineConfig | None = None
        self.version_name = ""


_serving = _Serving()


def _actor() -> str:
    return f"worker {socket.gethostname()}:{os.getpid()}"


def serving_model() -> LoadedModel:
    """The model this process should decode with now: the production version, loaded once per
    process (a promotion loads the new one and frees the old). If the production version cannot
    be loaded, the registry records why and rolls back, and the model this process had goes on
    serving (a process that had none loads what the registry serves after the rollback)."""
    from uzwhisper.asr import engine

    from .services.registry import model_version_record_load_failure

    with _serving.lock:
        for _attempt in range(3):
            version_id, name, config = _production()
            if config == _serving.config and _serving.model is not None:
                return _serving.model
            try:
                model = engine.get_model(config)
            except Exception as exc:
                if version_id is None:
                    raise
                logger.exception("Could not load model version %s from %s", name, config.model_path)
                model_version_record_load_failure(
                    version_id=version_id,
                    error=f"{type(exc).__name__}: {exc}",
                    actor=_actor(),
                )
                if _serving.model is not None:
                    return _serving.model
                continue  # no model yet: load what the registry serves after the rollback
            if _serving.config is not None and _serving.config != config:
                engine.release_model(_serving.config)
            _serving.model, _serving.config, _serving.version_name = model, config, name
            logger.info("Serving model version %s (%s)", name or "WHISPER_MODEL", model.model_id)
            return model
        raise RuntimeError("no model version in the registry could be loaded")

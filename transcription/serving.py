"""Which model serves. Every process that decodes (the ASR worker, the stream worker, evaluation)
gets its model through `engine_config()`; the model registry (the training issue) will answer
here with the promoted version, so nothing outside this module decides which weights load."""

from __future__ import annotations

from django.conf import settings

from uzwhisper.asr.engine import EngineConfig


def engine_config() -> EngineConfig:
    """The engine configuration of the model in production: today `WHISPER_MODEL` (the bundled
    base by default), with the device, compute type and threads from settings."""
    return EngineConfig(
        model_path=settings.WHISPER_MODEL,
        device=settings.WHISPER_DEVICE,
        compute_type=settings.WHISPER_COMPUTE_TYPE,
        cpu_threads=settings.WHISPER_CPU_THREADS,
    )

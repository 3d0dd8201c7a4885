"""The bundled Whisper base is the registry's first version, in production."""

from django.db import migrations
from django.utils import timezone

# uzwhisper.lib.model_bundle.MODEL_BIN_SHA256 as of this migration (a migration keeps its own copy).
BUNDLED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BUNDLED_NAME = "whisper-base (bundled)"


def register(apps, schema_editor):
    ModelVersion = apps.get_model("transcription", "ModelVersion")
    ModelVersionEvent = apps.get_model("transcription", "ModelVersionEvent")
    if ModelVersion.objects.filter(name=BUNDLED_NAME).exists():
        return
    now = timezone.now()
    in_production = ModelVersion.objects.filter(status="production").exists()
    version = ModelVersion.objects.create(
        name=BUNDLED_NAME,
        created_at=now,
        status="candidate" if in_production else "production",
        promoted_at=None if in_production else now,
        path="",
        checksum=BUNDLED_SHA256,
        notes="OpenAI Whisper base (multilingual), CTranslate2, as bundled.",
    )
    ModelVersionEvent.objects.create(
        version=version, kind="registered", created_at=now, actor="migration"
    )


def unregister(apps, schema_editor):
    apps.get_model("transcription", "ModelVersion").objects.filter(
        name=BUNDLED_NAME, path=""
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("transcription", "0005_model_registry")]
    operations = [migrations.RunPython(register, unregister)]

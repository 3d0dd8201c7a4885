# Hand-written: runs from before the heartbeat get their last sign of life, so one left
# `running` by a killed process shows as interrupted at once.

import django.utils.timezone
from django.db import migrations, models
from django.db.models.functions import Coalesce


def last_sign_of_life(apps, schema_editor):
    EvaluationRun = apps.get_model("training", "EvaluationRun")
    EvaluationRun.objects.update(
        heartbeat_at=Coalesce("finished_at", "started_at", "created_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ("training", "0002_evaluationrun_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="evaluationrun",
            name="heartbeat_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="evaluationrun",
            name="status",
            field=models.CharField(
                choices=[
                    ("running", "Running"),
                    ("done", "Done"),
                    ("failed", "Failed"),
                    ("stopped", "Stopped"),
                ],
                db_index=True,
                default="running",
                max_length=16,
            ),
        ),
        migrations.RunPython(last_sign_of_life, migrations.RunPython.noop),
    ]

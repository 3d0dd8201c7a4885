# Hand-written: the new `name` of existing runs follows `training.manifests.default_run_name`
# (copied here, as migrations must not depend on code that may change).

from pathlib import PurePath

from django.db import migrations, models


def name_existing_runs(apps, schema_editor):
    EvaluationRun = apps.get_model("training", "EvaluationRun")
    for run in EvaluationRun.objects.only("manifest_name", "manifest_path"):
        stem = PurePath(run.manifest_name).stem
        if stem.lower() == "manifest":
            stem = PurePath(run.manifest_path).parent.name or stem
        run.name = stem[:255]
        run.save(update_fields=["name"])


class Migration(migrations.Migration):

    dependencies = [
        ("training", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="evaluationrun",
            name="name",
            field=models.CharField(default="", max_length=255),
            preserve_default=False,
        ),
        migrations.RunPython(name_existing_runs, migrations.RunPython.noop),
    ]

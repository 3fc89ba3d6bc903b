import uuid

from django.db import migrations, models


def fill_uids(apps, schema_editor):
    ModificationAvenant = apps.get_model("contrats", "ModificationAvenant")
    for modification in ModificationAvenant.objects.filter(uid__isnull=True).only("pk"):
        ModificationAvenant.objects.filter(pk=modification.pk).update(uid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("contrats", "0009_nature_engagement"),
    ]

    operations = [
        migrations.AddField(
            model_name="modificationavenant",
            name="uid",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill_uids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="modificationavenant",
            name="uid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AddField(
            model_name="historicalmodificationavenant",
            name="uid",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
    ]

from django.db import migrations


def create(apps, schema_editor):
    DsfrConfig = apps.get_model("dsfr", "DsfrConfig")
    DsfrConfig.objects.get_or_create(
        language="fr",
        defaults={
            "site_title": "Pacte des solidarités",
            "site_tagline": "Contrats, fiches actions et cofinancement 2024-2027",
            "footer_description": "Outil de pilotage des contrats du Pacte des solidarités entre l'État et les collectivités.",
            "accessibility_status": "NOT",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("pacte", "0002_reference_data"), ("dsfr", "0012_dsfrconfig_notice_description_and_more")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]

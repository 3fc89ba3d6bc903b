from django.db import migrations

# Axes allowed per contract type (docs/regles.md); editable afterwards in the admin.
REGLES = [
    ("cls_departement", "Contrat local des solidarités", [1, 3, 4], False, 0, 4),
    ("cls_metropole", "Contrat local des solidarités", [1, 2, 3, 4], True, 0, 4),
    ("cdie", "Convention départementale pour l'insertion et l'emploi", [2], False, 3, 1),
    ("convention_unique", "Convention unique des solidarités et de l'insertion", [1, 2, 3, 4], False, 3, 4),
    ("cpt", "Convention partenariale territoriale", [1, 2, 3, 4], False, 0, 4),
]


def load(apps, schema_editor):
    Regle = apps.get_model("contrats", "RegleTypeContrat")
    Axe = apps.get_model("pacte", "Axe")
    for type_contrat, titre, axes, chaque_axe, volets, duree in REGLES:
        regle, created = Regle.objects.get_or_create(
            type_contrat=type_contrat,
            defaults={"titre_defaut": titre, "chaque_axe_requis": chaque_axe, "volets_max": volets, "duree_annees": duree},
        )
        if created:
            regle.axes.set(Axe.objects.filter(numero__in=axes))


class Migration(migrations.Migration):
    dependencies = [("contrats", "0002_initial"), ("pacte", "0002_reference_data")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

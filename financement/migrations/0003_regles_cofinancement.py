from decimal import Decimal

from django.db import migrations

# docs/regles.md: 50/50 everywhere, except CDIE volet 1 (project management of the reform), 100 % State.
REGLES = [
    ("cls_departement", None, Decimal("0.5"), True),
    ("cls_metropole", None, Decimal("0.5"), True),
    ("cdie", None, Decimal("0.5"), True),
    ("cdie", 1, Decimal("1"), False),
    ("convention_unique", None, Decimal("0.5"), True),
    ("convention_unique", 1, Decimal("1"), False),
    ("cpt", None, Decimal("0.5"), True),
]


def load(apps, schema_editor):
    Regle = apps.get_model("financement", "RegleCofinancement")
    for type_contrat, volet, taux, parite in REGLES:
        Regle.objects.get_or_create(
            type_contrat=type_contrat, volet_numero=volet, defaults={"taux_etat_max": taux, "parite": parite}
        )


class Migration(migrations.Migration):
    dependencies = [("financement", "0002_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

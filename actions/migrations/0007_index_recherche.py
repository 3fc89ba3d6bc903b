"""The fiches list's full-text search on PostgreSQL: a GIN index on the text vector of a fiche's own fields.

The query (``actions.filters.vecteur_recherche``) must build the same expression to use it: a test
(tests/actions/test_recherche_index.py) reads PostgreSQL's plan. PostgreSQL
only: SQLite has no text vectors (its search is a plain ``LIKE``, see ``actions.filters.FicheFilter``); the
index is not part of the models' state, so ``makemigrations`` does not see it.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

NOM = "actions_fiche_recherche_gin"


def _index():
    vecteur = SearchVector("code", "intitule", "description", "objectifs", "public_cible", config="french")
    return GinIndex(vecteur, name=NOM)


def creer(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("actions", "FicheAction"), _index())


def supprimer(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("actions", "FicheAction"), _index())


class Migration(migrations.Migration):
    dependencies = [("actions", "0006_contenu_des_contrats")]

    operations = [migrations.RunPython(creer, supprimer)]

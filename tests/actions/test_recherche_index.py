"""The fiches list's full-text search uses its GIN index on PostgreSQL (migration actions.0007_index_recherche).

The index holds an expression: PostgreSQL uses it only when the query builds the very same expression. Should
``actions.filters.vecteur_recherche`` and the migration part ways, the search would read every fiche again, in
silence: this test reads PostgreSQL's plan of the search's query.
"""

import pytest
from django.db import connection

from actions.filters import FicheFilter, requete_recherche
from actions.models import FicheAction
from tests.factories import FicheActionFactory

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]


def test_the_search_reads_the_index():
    FicheActionFactory(intitule="Bus des familles du Champsaur")
    fiches = FicheFilter({"q": "familles"}, FicheAction.objects.all()).qs
    sql, params = requete_recherche("familles").query.sql_with_params()
    with connection.cursor() as cursor:
        # A table of one row: without this the planner rightly prefers reading it whole.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "actions_fiche_recherche_gin" in plan, plan
    assert list(fiches.values_list("intitule", flat=True)) == ["Bus des familles du Champsaur"]

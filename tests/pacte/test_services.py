"""The shared write helpers: versions, French errors for the database's refusals, protected deletes."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from actions.models import FicheAction
from actions.services import fiche_update
from contrats.models import Contrat
from financement.services import ligne_financement_save
from pacte.services import ConflictError, _constraint_message, delete_validated, save_validated
from tests.factories import FicheActionFactory, LigneFinancementFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_save_raises_the_version_by_one():
    fiche = FicheActionFactory()
    before = fiche.version
    fiche_update(fiche=fiche, intitule="Bus des familles", version=before)
    fiche.refresh_from_db()
    assert fiche.version == before + 1


def test_a_stale_version_is_refused_naming_who_changed_what():
    fiche = FicheActionFactory(intitule="Avant")
    seen = fiche.version
    agent = UserFactory(username="agent-a")
    fiche_update(fiche=FicheAction.objects.get(pk=fiche.pk), intitule="Par A", by=agent, version=seen)
    stale = FicheAction.objects.get(pk=fiche.pk)
    with pytest.raises(ConflictError) as exc:
        fiche_update(fiche=stale, intitule="Par B", version=seen)
    message = exc.value.messages[0]
    assert "intitulé" in message and "agent-a" in message and "rien n'a été enregistré" in message
    assert FicheAction.objects.get(pk=fiche.pk).intitule == "Par A"


def test_no_version_given_means_no_check():
    """Commands and services calling each other pass no version: the last write wins, as before."""
    fiche = FicheActionFactory()
    fiche_update(fiche=FicheAction.objects.get(pk=fiche.pk), intitule="Un")
    fiche_update(fiche=fiche, intitule="Deux")
    assert FicheAction.objects.get(pk=fiche.pk).intitule == "Deux"


def test_a_duplicate_is_a_french_field_error_not_an_integrity_error():
    ligne = LigneFinancementFactory(annee=2024)
    other = LigneFinancementFactory(fiche=ligne.fiche, annee=2025)
    other.annee = 2024
    with pytest.raises(ValidationError) as exc:
        ligne_financement_save(ligne_financement=other)
    assert exc.value.message_dict == {
        "type_financeur": ["Ce financeur a déjà une ligne pour cette action et cette année."]
    }
    other.refresh_from_db()
    assert other.annee == 2025


def test_an_integrity_error_that_slips_past_full_clean_becomes_french():
    """Two writers racing past ``full_clean``: the database's refusal names the constraint's message."""
    error = IntegrityError('duplicate key value violates unique constraint "fiche_code_unique_dans_contrat"')
    assert _constraint_message(FicheAction, error) == "Ce code de fiche existe déjà dans le contrat."
    sqlite = IntegrityError("UNIQUE constraint failed: actions_ficheaction.contrat_id, actions_ficheaction.code")
    assert _constraint_message(FicheAction, sqlite) == "Ce code de fiche existe déjà dans le contrat."
    sqlite_pk = IntegrityError("UNIQUE constraint failed: actions_ficheaction.uid")
    assert _constraint_message(FicheAction, sqlite_pk) == "Un objet Fiche action avec ce champ uid existe déjà."
    postgresql = IntegrityError(
        'duplicate key value violates unique constraint "actions_ficheaction_uid_key"\n'
        "DETAIL:  Key (uid)=(0b7f6c2e-0000-4000-8000-000000000000) already exists."
    )
    assert _constraint_message(FicheAction, postgresql) == "Un objet Fiche action avec ce champ uid existe déjà."
    contrat = IntegrityError(
        "duplicate key value violates unique constraint\nDETAIL:  Key (reference)=(X) already exists."
    )
    assert _constraint_message(Contrat, contrat) == "Un objet Contrat avec ce champ référence existe déjà."
    assert "rien n'a été enregistré" in _constraint_message(FicheAction, IntegrityError("autre chose"))


def test_save_validated_turns_the_database_refusal_into_a_validation_error(monkeypatch):
    fiche = FicheActionFactory()
    twin = FicheActionFactory(contrat=fiche.contrat)
    twin.code = fiche.code
    # As if another transaction had inserted the row between full_clean and save.
    monkeypatch.setattr(FicheAction, "full_clean", lambda self, **kwargs: None)
    with pytest.raises(ValidationError) as exc:
        save_validated(twin)
    assert exc.value.messages == ["Ce code de fiche existe déjà dans le contrat."]


def test_a_protected_delete_says_what_depends_on_it():
    ligne = LigneFinancementFactory()
    with pytest.raises(ValidationError) as exc:
        delete_validated(ligne.fiche.contrat)
    assert "ne peut pas être supprimé" in exc.value.messages[0]
    assert "fiches actions" in exc.value.messages[0]


def test_amounts_are_checked_by_the_service_whatever_the_caller():
    ligne = LigneFinancementFactory()
    ligne.prevu = Decimal("100000000.01")
    with pytest.raises(ValidationError) as exc:
        ligne_financement_save(ligne_financement=ligne)
    assert "dépasse le maximum autorisé" in exc.value.messages[0]


def test_a_duplicate_fiche_code_is_reported_on_the_code():
    fiche = FicheActionFactory(code="A1-01")
    twin = FicheActionFactory(contrat=fiche.contrat, code="A1-02")
    with pytest.raises(ValidationError) as exc:
        fiche_update(fiche=twin, code="A1-01")
    assert exc.value.message_dict == {"code": ["Ce code de fiche existe déjà dans le contrat."]}

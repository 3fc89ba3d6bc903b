"""Reference data: loaded by the migrations, idempotent, never deleted by the loader."""

import io

import pytest
from django.core.management import call_command

from pacte.models import Axe, Collectivite, Departement, Mesure, Region
from pacte.reference import load_reference

pytestmark = pytest.mark.django_db


def test_counts_after_migrations():
    assert Region.objects.count() == 18
    assert Departement.objects.count() == 101
    assert Collectivite.objects.count() == 123
    assert Axe.objects.count() == 4
    assert Mesure.objects.count() == 15


@pytest.mark.parametrize(
    ("code", "departements", "region"),
    [
        ("CEA", ["67", "68"], "44"),
        ("CDC", ["2A", "2B"], "94"),
        ("M-LYO", ["69"], "84"),
        ("M-MGP", ["75", "92", "93", "94"], "11"),
        ("D05", ["05"], "93"),
        ("CTG", ["973"], "03"),
    ],
)
def test_collectivites_cover_their_departements(code, departements, region):
    collectivite = Collectivite.objects.get(code=code)
    assert sorted(collectivite.departements.values_list("code", flat=True)) == departements
    assert collectivite.region.code == region


def test_a_departement_can_host_several_collectivites():
    assert set(Departement.objects.get(code="69").collectivites.values_list("code", flat=True)) == {"D69", "M-LYO"}


def test_loading_twice_changes_nothing_and_keeps_edited_labels():
    axe = Axe.objects.get(numero=1)
    axe.intitule_court = "Petite enfance"
    axe.save()
    mesure = Mesure.objects.get(code="1.1")
    mesure.intitule = "Intitulé revu par la DGCS"
    mesure.save()
    counts = load_reference()
    out = io.StringIO()
    call_command("charger_referentiels", stdout=out)
    assert "123 collectivités" in out.getvalue()
    assert counts == {
        "régions": 18,
        "départements": 101,
        "collectivités": 123,
        "axes": 4,
        "mesures": 15,
        "objectifs": 13,
    }
    assert Axe.objects.get(numero=1).intitule_court == "Petite enfance"
    assert Mesure.objects.get(code="1.1").intitule == "Intitulé revu par la DGCS"
    assert Collectivite.objects.get(code="CEA").departements.count() == 2


def test_loader_restores_a_renamed_territory():
    Departement.objects.filter(code="05").update(nom="Faux nom")
    load_reference()
    assert Departement.objects.get(code="05").nom == "Hautes-Alpes"

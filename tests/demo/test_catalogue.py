"""The demo's catalogue (``demo/data/``): what the builder relies on, and clear errors on a broken file."""

from __future__ import annotations

import json

import pytest

from actions.enums import TypeIndicateur
from demo import catalogue
from pacte.models import Departement, Mesure

GABARITS = {
    "axe1": catalogue.AXE1,
    "axe3": catalogue.AXE3,
    "axe4": catalogue.AXE4,
    "emploi": catalogue.EMPLOI,
    "pilotage": catalogue.PILOTAGE,
    "cpt": catalogue.CPT,
}


@pytest.mark.parametrize("name", GABARITS)
def test_every_template_is_complete_and_names_known_partners(name):
    partenaires = {key for key, _ in catalogue.PARTENAIRES}
    assert GABARITS[name], name
    for g in GABARITS[name]:
        assert all([g.intitule, g.public, g.constat, g.objectifs, g.description]), g.intitule
        assert g.porteur == "collectivite" or g.porteur in partenaires, g.intitule
        assert set(g.autres) <= partenaires, g.intitule
        assert 1 <= len(g.indicateurs) <= 3, g.intitule
        assert {t for _, t, _ in g.indicateurs} <= set(TypeIndicateur.values), g.intitule
        assert all(isinstance(t, TypeIndicateur) for _, t, _ in g.indicateurs), g.intitule
        assert 0 < g.volume[0] <= g.volume[1] and 0 < g.cout[0] <= g.cout[1], g.intitule
        assert all(isinstance(n, int) for n in (*g.volume, *g.cout)), g.intitule


def test_measures_belong_to_the_axis_of_their_list(db):
    axes = dict(Mesure.objects.values_list("code", "axe__numero"))
    for numero, gabarits in catalogue.CATALOGUE.items():
        for g in gabarits:
            assert g.mesure is None or axes[g.mesure] == numero, g.intitule
    for g in catalogue.CPT:
        assert g.mesure is None or g.mesure in axes, g.intitule


def test_cdie_volets():
    assert catalogue.VOLETS_CDIE.keys() == {1, 2, 3}
    assert {g.volet for g in catalogue.PILOTAGE} == {1}
    assert {g.volet for g in catalogue.EMPLOI} == {2, 3}
    for name in ("axe1", "axe3", "axe4", "cpt"):
        assert {g.volet for g in GABARITS[name]} == {None}, name


def test_templates_the_builder_names():
    # Every CLS has the CAF's "rendez-vous des droits" (first of axis 3); the draft avenant adds the bikes.
    assert catalogue.AXE3[0].intitule.startswith("Rendez-vous des droits") and catalogue.AXE3[0].porteur == "caf"
    assert [g for g in catalogue.AXE4 if g.intitule.startswith("Aide à l'achat de vélos")]


def test_every_departement_has_a_chef_lieu_and_a_population(db):
    codes = set(Departement.objects.values_list("code", flat=True))
    assert len(codes) == 101
    assert set(catalogue.CHEFS_LIEUX) == codes == set(catalogue.POPULATION)
    assert all(p > 0 for p in catalogue.POPULATION.values())
    assert set(catalogue.DE_DEPARTEMENT) < codes
    assert catalogue.DE_DEPARTEMENT["2A"] == "de Corse-du-Sud"


def test_partners_and_cpt_signatories():
    keys = [key for key, _ in catalogue.PARTENAIRES]
    assert len(keys) == len(set(keys)) == 19
    assert catalogue.SIGNATAIRES_CPT == ("caf", "cpam", "france_travail", "ars", "dsden", "udaf")
    assert catalogue.QUALITE_PARTENAIRE["ars"] == ("Délégué départemental", "Déléguée départementale")
    for _, pattern in catalogue.PARTENAIRES:  # only the two placeholders the builder fills
        assert "{" not in pattern.format(de="des Hautes-Alpes", de_ville="de Gap"), pattern


def test_names_and_texts_are_read_in_utf8():
    assert "Hélène" in catalogue.PRENOMS_F and "Éric" in catalogue.PRENOMS_M and "Guérin" in catalogue.NOMS
    assert len(catalogue.JUSTIFICATIONS) == 6 and len(catalogue.SOURCES) == 5
    assert all(m.startswith("Résiliation") for m in catalogue.MOTIFS_RESILIATION)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda g: g.pop("intitule"), "missing 1 required positional argument: 'intitule'"),
        (lambda g: g.update(couleur="bleu"), "unexpected keyword argument 'couleur'"),
        (lambda g: g["indicateurs"][0].update(type="impact"), "'impact' is not a valid TypeIndicateur"),
        (lambda g: g["indicateurs"][0].pop("unite"), "KeyError('unite')"),
    ],
)
def test_a_broken_template_names_its_file_and_position(tmp_path, monkeypatch, change, message):
    gabarits = json.loads((catalogue.DATA / "gabarits" / "cpt.json").read_text(encoding="utf-8"))
    change(gabarits[1])
    (tmp_path / "gabarits").mkdir()
    (tmp_path / "gabarits" / "cpt.json").write_text(json.dumps(gabarits, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(catalogue, "DATA", tmp_path)
    with pytest.raises(ValueError, match="demo/data/gabarits/cpt.json, gabarit 2 : ") as excinfo:
        catalogue.load_gabarits("cpt")
    assert message in str(excinfo.value)


def test_the_files_load_as_they_are():
    assert catalogue.load_gabarits("cpt") == catalogue.CPT

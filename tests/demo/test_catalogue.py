"""The demo's catalogue (``demo/data/``): what the builder relies on, and clear errors on a broken file."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from actions.enums import TypeIndicateur
from demo import catalogue
from demo.builder.territoires import luhn_key, siret_fictif
from pacte.models import Departement, Mesure, Objectif
from pacte.validators import validate_siret

GABARITS = {
    "axe1": catalogue.AXE1,
    "axe3": catalogue.AXE3,
    "axe4": catalogue.AXE4,
    "emploi": catalogue.EMPLOI,
    "pilotage": catalogue.PILOTAGE,
    "cpt": catalogue.CPT,
}
ALL = [g for gabarits in GABARITS.values() for g in gabarits]


@pytest.mark.parametrize("name", GABARITS)
def test_every_template_is_complete_and_names_known_partners(name):
    partenaires = {key for key, _ in catalogue.PARTENAIRES}
    assert GABARITS[name], name
    for g in GABARITS[name]:
        assert all([g.intitule, g.public, g.constat, g.objectifs, g.description, g.domaine]), g.intitule
        assert set(g.porteurs) <= partenaires | {"collectivite"}, g.intitule
        assert len(set(g.porteurs)) == len(g.porteurs), g.intitule
        assert set(g.autres) <= partenaires, g.intitule
        assert 1 <= len(g.indicateurs) <= 3, g.intitule
        assert {t for _, t, _ in g.indicateurs} <= set(TypeIndicateur.values), g.intitule
        assert all(isinstance(t, TypeIndicateur) for _, t, _ in g.indicateurs), g.intitule
        assert 0 < g.volume[0] <= g.volume[1] and 0 < g.cout[0] <= g.cout[1], g.intitule
        assert all(isinstance(n, int) for n in (*g.volume, *g.cout)), g.intitule


def _axe_of(g, mesures, objectifs):
    return mesures.get(g.mesure) or objectifs.get(g.objectif)


def test_measures_and_objectives_belong_to_the_axis_of_their_list(db):
    mesures = dict(Mesure.objects.values_list("code", "axe__numero"))
    objectifs = dict(Objectif.objects.values_list("code", "axe__numero"))
    for numero, gabarits in catalogue.CATALOGUE.items():
        for g in gabarits:
            assert g.mesure is None or mesures[g.mesure] == numero, g.intitule
            assert g.objectif is None or objectifs[g.objectif] == numero, g.intitule
            assert g.axe is None, g.intitule  # the list gives the axis
    for g in catalogue.CPT:
        assert g.axe in (1, 2, 3, 4), g.intitule
        assert _axe_of(g, mesures, objectifs) in (None, g.axe), g.intitule


def test_every_template_says_what_it_serves():
    """A national measure (its objective follows), an objective only, or a local measure with its label
    (under an objective or not): never a national measure with a local one, never nothing."""
    for g in ALL:
        if g.mesure:
            assert g.objectif is None and not g.mesure_locale, g.intitule
        else:
            assert g.objectif or g.mesure_locale.strip(), g.intitule
    kinds = {
        "mesure": [g for g in ALL if g.mesure],
        "objectif": [g for g in ALL if g.objectif and not g.mesure_locale],
        "locale": [g for g in ALL if g.mesure_locale],
    }
    assert all(kinds.values())
    # About half of the actions of real contracts fit no national measure: so do the templates.
    assert 0.4 <= (len(kinds["objectif"]) + len(kinds["locale"])) / len(ALL) <= 0.6


def test_no_real_body_carries_an_action_outside_its_field():
    """Every carrier a template names may carry it: real and generic bodies keep to their fields."""
    refused = [(g.intitule, k) for g in ALL for k in g.porteurs if not catalogue.peut_porter(k, g)]
    assert refused == []


@pytest.mark.parametrize(
    ("cle", "domaine", "expected"),
    [
        ("caf", "famille", True),
        ("caf", "alimentation", False),
        ("france_travail", "emploi", True),
        ("france_travail", "sante", False),
        ("ccas", "droits", True),
        ("ccas", "pilotage", False),
        ("solidarites", "pilotage", True),  # invented: says so in its name, carries anything
        ("collectivite", "insertion", True),
        ("collectivite", "exclusion", False),
    ],
)
def test_who_may_carry_what(cle, domaine, expected):
    gabarit = catalogue.Gabarit(
        intitule="x",
        mesure=None,
        porteur=cle,
        domaine=domaine,
        public="x",
        constat="x",
        objectifs="x",
        description="x",
        indicateurs=(),
        volume=(1, 1),
        cout=(1, 1),
    )
    assert catalogue.peut_porter(cle, gabarit) is expected


def test_invented_partners_say_so_and_the_others_have_fields():
    for key, nom in catalogue.PARTENAIRES:
        nature = catalogue.NATURE_PARTENAIRE[key]
        assert nature in ("reel", "generique", "fictif"), key
        fictive = nom.endswith(("(fictive)", "(fictif)"))
        assert fictive == (nature == "fictif"), nom
        assert ("*" in catalogue.DOMAINES_PARTENAIRE[key]) == fictive, key
        assert catalogue.DOMAINES_PARTENAIRE[key], key


def test_pacte_local_actions_are_carried_by_partners():
    """The State pays the carriers of a pacte local's actions: partners, never the collectivité."""
    for g in catalogue.CPT:
        assert "collectivite" not in g.porteurs, g.intitule
    assert [g for g in catalogue.CPT if g.etat_seul and not g.autres]  # a diagnostic, the State's alone
    assert {g.axe for g in catalogue.CPT} == {1, 2, 3, 4}


def test_cdie_volets():
    assert catalogue.VOLETS_CDIE.keys() == {1, 2, 3}
    assert {g.volet for g in catalogue.PILOTAGE} == {1}
    assert {g.volet for g in catalogue.EMPLOI} == {2, 3}
    for name in ("axe1", "axe3", "axe4", "cpt"):
        assert {g.volet for g in GABARITS[name]} == {None}, name


def test_templates_the_builder_names():
    # Every CLS has the CAF's "rendez-vous des droits" (first of axis 3); the draft avenant adds the bikes.
    assert catalogue.AXE3[0].intitule.startswith("Rendez-vous des droits") and catalogue.AXE3[0].porteur == "caf"
    assert catalogue.AXE3[0].autres_porteurs == ()  # the partner persona's fiche stays the CAF's
    assert [g for g in catalogue.AXE4 if g.intitule.startswith("Aide à l'achat de vélos") and g.mesure]


def test_every_departement_has_a_chef_lieu_and_a_population(db):
    codes = set(Departement.objects.values_list("code", flat=True))
    assert len(codes) == 101
    assert set(catalogue.CHEFS_LIEUX) == codes == set(catalogue.POPULATION)
    assert all(p > 0 for p in catalogue.POPULATION.values())
    assert set(catalogue.DE_DEPARTEMENT) < codes
    assert catalogue.DE_DEPARTEMENT["2A"] == "de Corse-du-Sud"


def test_partners_and_cpt_signatories():
    keys = [key for key, _ in catalogue.PARTENAIRES]
    assert len(keys) == len(set(keys)) == 21
    assert catalogue.SIGNATAIRES_CPT == ("caf", "cpam", "france_travail", "ars", "dsden", "udaf")
    assert catalogue.QUALITE_PARTENAIRE["ars"] == ("Délégué départemental", "Déléguée départementale")
    assert set(catalogue.QUALITE_PARTENAIRE) == set(keys)  # any partner may sign the pacte local it is part of
    assert all(all(q) for q in catalogue.QUALITE_PARTENAIRE.values())
    for _, pattern in catalogue.PARTENAIRES:  # only the two placeholders the builder fills
        assert "{" not in pattern.format(de="des Hautes-Alpes", de_ville="de Gap"), pattern


@pytest.mark.parametrize(
    ("digits", "key"),
    [("73282932", "0"), ("7328293200007", "4"), ("35600000", "0"), ("0000000000000", "0"), ("1", "8")],
)
def test_luhn_key(digits, key):
    assert luhn_key(digits) == key


def test_generated_sirets_are_valid_unique_and_stable(db):
    sirets = {
        siret_fictif(code, key)
        for code in Departement.objects.values_list("code", flat=True)
        for key, _ in catalogue.PARTENAIRES
    }
    assert len(sirets) == 101 * 21
    for siret in sirets:
        validate_siret(siret)
        assert siret.startswith("000") and siret[9:13] == "0001", siret
    assert siret_fictif("2A", "caf") != siret_fictif("2B", "caf")
    assert siret_fictif("976", "intercommunalite") == siret_fictif("976", "intercommunalite")
    with pytest.raises(ValidationError):  # a wrong key is refused, so the generated ones are not vacuous
        validate_siret(siret_fictif("05", "caf")[:-1] + str((int(siret_fictif("05", "caf")[-1]) + 1) % 10))


def test_contract_texts():
    values = {"nom": "Département des Hautes-Alpes", "de_dep": "des Hautes-Alpes", "periode": "2024-2027"}
    for texte in (*catalogue.PREAMBULES, *(t for ts in catalogue.DIAGNOSTICS.values() for t in ts)):
        assert "{" not in texte.format(**values), texte
    assert set(catalogue.DIAGNOSTICS) == set(catalogue.OBJECTIFS_CONTRAT) == {"cls", "cdie", "cpt"}
    assert all(len(objectifs) >= 4 for objectifs in catalogue.OBJECTIFS_CONTRAT.values())
    assert set(catalogue.LIBELLES_AXES) == {1, 2, 3, 4}
    assert "autre" in catalogue.APPORTS_EN_NATURE and set(catalogue.SIGNATAIRES_CPT) <= set(catalogue.APPORTS_EN_NATURE)


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

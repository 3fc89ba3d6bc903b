"""Rules of the contracts (docs/regles.md): axes per type, workflow, signature, freeze, avenants.

Each rule is a table of cases. Rows are set up with the factories (they bypass the services) and the
behaviour under test goes through the services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from actions.enums import NatureAction, StatutFiche
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from actions.services import (
    avenant_propose_cible,
    avenant_propose_fiche_add,
    avenant_propose_fiche_change,
    fiche_create,
    fiche_transition,
    fiche_update,
    indicateur_create,
    indicateur_set_cible,
    indicateur_set_realise,
)
from contrats.enums import (
    STATUTS_AVENANT_POSSIBLE,
    STATUTS_FIGES,
    TRANSITIONS_AVENANT,
    TRANSITIONS_CONTRAT,
    NatureModification,
    PartieSignataire,
    StatutAvenant,
    StatutContrat,
    TypeComite,
    TypeContrat,
)
from contrats.models import Avenant, Comite, Contrat, ModificationAvenant, Signataire, Volet
from contrats.services import (
    avenant_create,
    avenant_sign,
    avenant_transition,
    comite_create,
    contrat_create,
    contrat_sign,
    contrat_transition,
    contrat_update,
    modification_add,
    signataire_set,
    volet_create,
)
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement, Plafond
from financement.services import (
    alertes_realise,
    avenant_propose_plafond,
    avenant_propose_prevu,
    ligne_financement_set,
    plafond_set,
)
from pacte.models import Mesure
from tests.factories import (
    AvenantFactory,
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    SignataireFactory,
    ValeurIndicateurFactory,
    axe,
    collectivite,
)

pytestmark = pytest.mark.django_db

D = Decimal
ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE
SIGNE_LE = date(2024, 3, 15)
LABEL = {**dict(StatutContrat.choices), **dict(StatutAvenant.choices)}


def contrat_pret(
    statut=StatutContrat.EN_NEGOCIATION,
    *,
    type_contrat=TypeContrat.CLS_DEPARTEMENT,
    code="D05",
    axes_fiches=(1,),
    signataires=True,
    **kwargs,
) -> Contrat:
    """A contract whose checks all pass: one validated fiche per axis of ``axes_fiches`` (A<n>-01), each
    funded 10 000 € by the State and 10 000 € by the collectivité in 2024, and a 2024 ceiling that fits."""
    if statut in STATUTS_FIGES:
        kwargs.setdefault("date_signature", SIGNE_LE)
    contrat = ContratFactory(collectivite=collectivite(code), type_contrat=type_contrat, statut=statut, **kwargs)
    for numero in axes_fiches:
        fiche = FicheActionFactory(contrat=contrat, axe=axe(numero), code=f"A{numero}-01", validee=True)
        LigneFinancementFactory(fiche=fiche, type_financeur=ETAT, prevu=D("10000"))
        LigneFinancementFactory(fiche=fiche, type_financeur=COLL, prevu=D("10000"))
    PlafondFactory(contrat=contrat, montant=D("10000") * len(axes_fiches))
    if signataires:
        SignataireFactory(contrat=contrat, partie=PartieSignataire.ETAT, nom="A. Préfet", date_signature=SIGNE_LE)
        SignataireFactory(
            contrat=contrat, partie=PartieSignataire.COLLECTIVITE, nom="B. Présidente", date_signature=SIGNE_LE
        )
    return contrat


def statut_en_base(obj) -> str:
    return type(obj).objects.values_list("statut", flat=True).get(pk=obj.pk)


def photo(contrat: Contrat) -> dict:
    """Everything contractual about a contract, as plain values, to check that nothing changed."""

    def rows(qs):
        return list(qs.order_by("pk").values())

    return {
        "contrat": rows(Contrat.objects.filter(pk=contrat.pk)),
        "axes": sorted(contrat.axes.values_list("numero", flat=True)),
        "fiches": rows(FicheAction.objects.filter(contrat=contrat)),
        "lignes": rows(LigneFinancement.objects.filter(fiche__contrat=contrat)),
        "plafonds": rows(Plafond.objects.filter(contrat=contrat)),
        "indicateurs": rows(Indicateur.objects.filter(fiche__contrat=contrat)),
        "valeurs": rows(ValeurIndicateur.objects.filter(indicateur__fiche__contrat=contrat)),
        "volets": rows(Volet.objects.filter(contrat=contrat)),
        "signataires": rows(Signataire.objects.filter(contrat=contrat)),
        "avenants": rows(Avenant.objects.filter(contrat=contrat)),
        "modifications": rows(ModificationAvenant.objects.filter(avenant__contrat=contrat)),
    }


# --- Axes per contract type ---------------------------------------------------------------------------

CLS_DEP = "Un CLS – contrat local des solidarités (département)"
CDIE = "Un CDIE – convention départementale pour l'insertion et l'emploi"


@pytest.mark.parametrize(
    ("code", "type_contrat", "axes", "expected"),
    [
        pytest.param("D05", TypeContrat.CLS_DEPARTEMENT, None, [1, 3, 4], id="cls-departement-default-axes"),
        pytest.param("D05", TypeContrat.CLS_DEPARTEMENT, [1, 3], [1, 3], id="cls-departement-subset"),
        pytest.param(
            "D05",
            TypeContrat.CLS_DEPARTEMENT,
            [1, 2],
            ("axes", f"{CLS_DEP} ne porte pas l’axe 2 (axes possibles : 1, 3, 4)."),
            id="cls-departement-refuses-axis-2",
        ),
        pytest.param("D05", TypeContrat.CDIE, None, [2], id="cdie-axis-2"),
        pytest.param(
            "D05",
            TypeContrat.CDIE,
            [1, 3],
            ("axes", f"{CDIE} ne porte pas les axes 1, 3 (axes possibles : 2)."),
            id="cdie-refuses-other-axes",
        ),
        pytest.param("M-ROU", TypeContrat.CLS_METROPOLE, None, [1, 2, 3, 4], id="cls-metropole-all-axes"),
        pytest.param("M-LYO", TypeContrat.CLS_METROPOLE, None, [1, 2, 3, 4], id="metropole-de-lyon"),
        pytest.param("M-AMI", TypeContrat.CLS_METROPOLE, None, [1, 2, 3, 4], id="invited-metropole"),
        pytest.param(
            "D05",
            TypeContrat.CLS_METROPOLE,
            None,
            ("type_contrat", "Département des Hautes-Alpes n'est pas une métropole : choisissez un CLS départemental."),
            id="cls-metropole-needs-a-metropole",
        ),
        pytest.param(
            "CEA",
            TypeContrat.CLS_METROPOLE,
            None,
            (
                "type_contrat",
                "Collectivité européenne d'Alsace n'est pas une métropole : choisissez un CLS départemental.",
            ),
            id="cls-metropole-refuses-a-special-collectivite",
        ),
        pytest.param(
            "M-ROU",
            TypeContrat.CLS_DEPARTEMENT,
            None,
            ("type_contrat", "Métropole Rouen Normandie est une métropole : choisissez un CLS de métropole."),
            id="cls-departement-refuses-a-metropole",
        ),
        pytest.param("CEA", TypeContrat.CLS_DEPARTEMENT, None, [1, 3, 4], id="cls-of-a-special-collectivite"),
        pytest.param(
            "D05", TypeContrat.CLS_DEPARTEMENT, [], ("axes", "Un contrat porte au moins un axe."), id="no-axis"
        ),
        pytest.param("D05", TypeContrat.CPT, None, [1, 2, 3, 4], id="cpt-all-axes"),
        pytest.param("D05", TypeContrat.CONVENTION_UNIQUE, None, [1, 2, 3, 4], id="convention-unique-all-axes"),
    ],
)
def test_contrat_create_axes(code, type_contrat, axes, expected):
    kwargs = {"axes": [axe(n) for n in axes]} if axes is not None else {}
    create = lambda: contrat_create(  # noqa: E731
        collectivite=collectivite(code),
        type_contrat=type_contrat,
        date_debut=date(2024, 1, 1),
        date_fin=date(2027, 12, 31),
        **kwargs,
    )
    if isinstance(expected, tuple):
        with pytest.raises(ValidationError) as exc:
            create()
        assert exc.value.message_dict == {expected[0]: [expected[1]]}
        assert not Contrat.objects.exists()
        return
    contrat = create()
    assert sorted(contrat.axes.values_list("numero", flat=True)) == expected
    assert contrat.statut == StatutContrat.BROUILLON


@pytest.mark.parametrize(
    ("code", "type_contrat", "reference", "titre"),
    [
        pytest.param("D05", TypeContrat.CLS_DEPARTEMENT, "CLS-2024-D05", "Contrat local des solidarités", id="cls"),
        pytest.param(
            "D05",
            TypeContrat.CDIE,
            "CDIE-2024-D05",
            "Convention départementale pour l'insertion et l'emploi",
            id="cdie",
        ),
        pytest.param("M-ROU", TypeContrat.CLS_METROPOLE, "CLS-2024-M-ROU", "Contrat local des solidarités", id="metro"),
        pytest.param("D05", TypeContrat.CPT, "CPT-2024-D05", "Convention partenariale territoriale", id="cpt"),
    ],
)
def test_contrat_create_defaults(code, type_contrat, reference, titre):
    contrat = contrat_create(
        collectivite=collectivite(code),
        type_contrat=type_contrat,
        date_debut=date(2024, 1, 1),
        date_fin=date(2027, 12, 31),
    )
    assert (contrat.reference, contrat.titre) == (reference, titre)


@pytest.mark.parametrize(
    ("debut", "fin", "ok"),
    [
        pytest.param(date(2024, 1, 1), date(2024, 1, 2), True, id="one-day"),
        pytest.param(date(2024, 1, 1), date(2024, 1, 1), False, id="same-day"),
        pytest.param(date(2025, 1, 1), date(2024, 12, 31), False, id="reversed"),
    ],
)
def test_contrat_dates_ordered(debut, fin, ok):
    kwargs = {"collectivite": collectivite("D05"), "type_contrat": TypeContrat.CDIE, "date_debut": debut}
    if ok:
        assert contrat_create(date_fin=fin, **kwargs).date_fin == fin
        return
    with pytest.raises(ValidationError, match="La date de fin du contrat doit suivre sa date de début."):
        contrat_create(date_fin=fin, **kwargs)


@pytest.mark.parametrize(
    ("axes", "fields", "expected"),
    [
        pytest.param([1, 3], {}, None, id="remove-an-unused-axis"),
        pytest.param([1, 3, 4], {"titre": "Contrat départemental des solidarités"}, None, id="title-and-axes"),
        pytest.param(
            [1, 2], {}, ("axes", f"{CLS_DEP} ne porte pas l’axe 2 (axes possibles : 1, 3, 4)."), id="axis-2-refused"
        ),
        pytest.param(
            [3, 4],
            {"titre": "Nouveau titre"},
            ("axes", "Des fiches portent sur un axe retiré : A1-01."),
            id="axis-with-fiches-cannot-be-removed",
        ),
        pytest.param([], {}, ("axes", "Un contrat porte au moins un axe."), id="no-axis"),
        pytest.param(
            None, {"statut": StatutContrat.SIGNE}, ("__all__", "Champs non modifiables ici : statut."), id="statut"
        ),
        pytest.param(
            None,
            {"date_fin": date(2024, 1, 1)},
            ("__all__", "La date de fin du contrat doit suivre sa date de début."),
            id="dates-reversed",
        ),
    ],
)
def test_contrat_update(axes, fields, expected):
    contrat = contrat_pret()
    before = photo(contrat)
    kwargs = {"axes": [axe(n) for n in axes]} if axes is not None else {}
    if expected is None:
        contrat_update(contrat=contrat, **kwargs, **fields)
        contrat.refresh_from_db()
        assert sorted(contrat.axes.values_list("numero", flat=True)) == axes
        for name, value in fields.items():
            assert getattr(contrat, name) == value
        return
    with pytest.raises(ValidationError) as exc:
        contrat_update(contrat=contrat, **kwargs, **fields)
    field, message = expected
    if field == "__all__":
        assert message in exc.value.messages
    else:
        assert exc.value.message_dict[field] == [message]
    assert photo(contrat) == before


@pytest.mark.parametrize(
    ("type_contrat", "code", "axes_fiches", "abandon", "missing"),
    [
        pytest.param(TypeContrat.CLS_METROPOLE, "M-ROU", (1, 2, 3, 4), None, [], id="metropole-every-axis"),
        pytest.param(TypeContrat.CLS_METROPOLE, "M-ROU", (1, 3, 4), None, [2], id="metropole-without-axis-2"),
        pytest.param(TypeContrat.CLS_METROPOLE, "M-ROU", (1, 2, 3, 4), 4, [4], id="abandoned-action-does-not-count"),
        pytest.param(TypeContrat.CLS_METROPOLE, "M-ROU", (1,), None, [2, 3, 4], id="metropole-one-axis"),
        pytest.param(TypeContrat.CLS_DEPARTEMENT, "D05", (1,), None, [], id="departement-needs-not-every-axis"),
        pytest.param(TypeContrat.CPT, "D05", (3,), None, [], id="cpt-needs-not-every-axis"),
    ],
)
@pytest.mark.parametrize("step", ["ready", "sign"])
def test_metropole_needs_an_action_on_each_axis(type_contrat, code, axes_fiches, abandon, missing, step):
    statut = StatutContrat.EN_NEGOCIATION if step == "ready" else StatutContrat.PRET_SIGNATURE
    contrat = contrat_pret(statut, type_contrat=type_contrat, code=code, axes_fiches=axes_fiches)
    if abandon:
        FicheAction.objects.filter(contrat=contrat, axe__numero=abandon).update(statut=StatutFiche.ABANDONNEE)

    def go():
        if step == "ready":
            return contrat_transition(contrat=contrat, to=StatutContrat.PRET_SIGNATURE)
        return contrat_sign(contrat=contrat, signed_on=SIGNE_LE)

    if not missing:
        go()
        assert statut_en_base(contrat) == (StatutContrat.PRET_SIGNATURE if step == "ready" else StatutContrat.SIGNE)
        return
    with pytest.raises(ValidationError) as exc:
        go()
    labels = {1: "Enfance", 2: "Emploi", 3: "Accès aux droits", 4: "Transition écologique solidaire"}
    expected = [f"Axe {n} ({labels[n]}) : aucune action, il en faut au moins une." for n in missing]
    assert [m for m in exc.value.messages if m.startswith("Axe ")] == expected
    assert statut_en_base(contrat) == statut


# --- Volets -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_contrat", "numeros", "expected"),
    [
        pytest.param(TypeContrat.CDIE, [1, 2, 3], None, id="cdie-three-volets"),
        pytest.param(TypeContrat.CDIE, [4], f"{CDIE} a au plus 3 volet(s).", id="cdie-fourth-volet"),
        pytest.param(TypeContrat.CDIE, [0], "Un volet est numéroté de 1 à 3.", id="volet-zero"),
        pytest.param(TypeContrat.CDIE, [1, 1], "Ce numéro de volet existe déjà dans le contrat.", id="same-number"),
        pytest.param(TypeContrat.CONVENTION_UNIQUE, [1], None, id="convention-unique"),
        pytest.param(TypeContrat.CLS_DEPARTEMENT, [1], f"{CLS_DEP} n'a pas de volets.", id="cls-has-no-volets"),
    ],
)
def test_volet_create(type_contrat, numeros, expected):
    contrat = ContratFactory(type_contrat=type_contrat)
    *first, last = numeros
    for numero in first:
        volet_create(contrat=contrat, numero=numero, intitule=f"Volet {numero}")
    if expected is None:
        volet_create(contrat=contrat, numero=last, intitule="Dernier")
        assert list(contrat.volets.values_list("numero", flat=True)) == numeros
        return
    with pytest.raises(ValidationError) as exc:
        volet_create(contrat=contrat, numero=last, intitule="Dernier")
    assert expected in exc.value.messages
    assert contrat.volets.count() == len(first)


# --- Contract transitions: every (from, to) pair ------------------------------------------------------

CONTRAT_PAIRS = [(a, b) for a in StatutContrat.values for b in StatutContrat.values]


@pytest.mark.parametrize(("before", "after"), [pytest.param(a, b, id=f"{a}->{b}") for a, b in CONTRAT_PAIRS])
def test_contrat_transitions(before, after):
    contrat = contrat_pret(before)
    if after not in TRANSITIONS_CONTRAT[before]:
        with pytest.raises(ValidationError) as exc:
            contrat_transition(contrat=contrat, to=after, motif="Motif")
        assert exc.value.messages == [
            f"Le contrat {contrat.reference} ne peut pas passer de « {LABEL[before]} » à « {LABEL[after]} »."
        ]
        if after == StatutContrat.SIGNE:
            with pytest.raises(ValidationError, match="Seul un contrat prêt pour signature peut être signé"):
                contrat_sign(contrat=contrat, signed_on=SIGNE_LE)
        assert statut_en_base(contrat) == before
        return
    if after == StatutContrat.SIGNE:
        # Signing is routed to its own service, which records the date and checks the signatories.
        with pytest.raises(ValidationError, match="La signature s'enregistre avec ses dates et ses signataires."):
            contrat_transition(contrat=contrat, to=after)
        assert statut_en_base(contrat) == before
        contrat_sign(contrat=contrat, signed_on=SIGNE_LE)
    else:
        motif = "Dénonciation par la collectivité" if after == StatutContrat.RESILIE else ""
        assert contrat_transition(contrat=contrat, to=after, motif=motif).statut == after
    assert statut_en_base(contrat) == after


def test_contrat_transitions_table():
    """The life of a contract (docs/regles.md), written as data: no "from any state"."""
    assert TRANSITIONS_CONTRAT == {
        "brouillon": {"en_negociation"},
        "en_negociation": {"brouillon", "pret_signature"},
        "pret_signature": {"en_negociation", "signe"},
        "signe": {"en_execution", "resilie"},
        "en_execution": {"clos", "resilie"},
        "clos": set(),
        "resilie": set(),
    }


@pytest.mark.parametrize(
    ("before", "motif", "ok"),
    [
        pytest.param(StatutContrat.SIGNE, "", False, id="signed-no-motif"),
        pytest.param(StatutContrat.SIGNE, "  \n ", False, id="signed-blank-motif"),
        pytest.param(StatutContrat.SIGNE, "Dénonciation", True, id="signed-with-motif"),
        pytest.param(StatutContrat.EN_EXECUTION, "", False, id="in-execution-no-motif"),
        pytest.param(StatutContrat.EN_EXECUTION, "Fusion des collectivités", True, id="in-execution-with-motif"),
    ],
)
def test_resiliation_needs_a_motif(before, motif, ok):
    contrat = contrat_pret(before)
    if ok:
        contrat_transition(contrat=contrat, to=StatutContrat.RESILIE, motif=motif)
        contrat.refresh_from_db()
        assert (contrat.statut, contrat.motif_fin) == (StatutContrat.RESILIE, motif)
        return
    with pytest.raises(ValidationError) as exc:
        contrat_transition(contrat=contrat, to=StatutContrat.RESILIE, motif=motif)
    assert exc.value.message_dict == {"motif_fin": ["Indiquez le motif de la résiliation."]}
    assert statut_en_base(contrat) == before


def test_closing_needs_no_motif():
    contrat = contrat_pret(StatutContrat.EN_EXECUTION)
    assert contrat_transition(contrat=contrat, to=StatutContrat.CLOS).statut == StatutContrat.CLOS


@pytest.mark.parametrize(
    ("breaking", "expected"),
    [
        pytest.param(None, None, id="all-checks-pass"),
        pytest.param("no-fiche", "Le contrat CLS-2024-D05 ne contient aucune fiche action.", id="no-fiche"),
        pytest.param("proposed-fiche", "Fiche A1-01 : elle n'est pas validée.", id="proposed-fiche"),
        pytest.param("parity", "dépasse celle du Département", id="parity"),
        pytest.param("ceiling", "dépassent l'enveloppe annuelle", id="ceiling"),
        pytest.param("no-ceiling", "aucune enveloppe de l'État", id="no-ceiling"),
        pytest.param("fiche-out-of-period", "Fiche A1-01 : L'action finit le 31/12/2027, après le contrat", id="dates"),
    ],
)
def test_ready_for_signature_runs_every_check(breaking, expected):
    contrat = contrat_pret(reference="CLS-2024-D05")
    fiche = contrat.fiches.get()
    if breaking == "no-fiche":
        LigneFinancement.objects.all().delete()
        FicheAction.objects.all().delete()
    elif breaking == "proposed-fiche":
        FicheAction.objects.update(statut=StatutFiche.PROPOSEE)
    elif breaking == "parity":
        LigneFinancement.objects.filter(fiche=fiche, type_financeur=ETAT).update(prevu=D("10001.01"))
        Plafond.objects.update(montant=D("20000"))
    elif breaking == "ceiling":
        Plafond.objects.update(montant=D("9999.99"))
    elif breaking == "no-ceiling":
        Plafond.objects.all().delete()
    elif breaking == "fiche-out-of-period":
        Contrat.objects.filter(pk=contrat.pk).update(date_fin=date(2026, 12, 31))
    if expected is None:
        assert contrat_transition(contrat=contrat, to=StatutContrat.PRET_SIGNATURE).statut == (
            StatutContrat.PRET_SIGNATURE
        )
        return
    with pytest.raises(ValidationError) as exc:
        contrat_transition(contrat=contrat, to=StatutContrat.PRET_SIGNATURE)
    assert exc.value.messages[0] == "Le contrat CLS-2024-D05 n'est pas prêt pour signature :"
    assert any(expected in m for m in exc.value.messages[1:]), exc.value.messages
    assert statut_en_base(contrat) == StatutContrat.EN_NEGOCIATION


# --- Contract signature ------------------------------------------------------------------------------

PARTENAIRE = PartieSignataire.PARTENAIRE


@pytest.mark.parametrize(
    ("statut", "type_contrat", "signataires", "signed_on", "expected"),
    [
        pytest.param(
            StatutContrat.PRET_SIGNATURE,
            TypeContrat.CLS_DEPARTEMENT,
            {"etat": date(2024, 3, 14), "collectivite": date(2024, 3, 15)},
            date(2024, 3, 15),
            None,
            id="both-signed-on-or-before",
        ),
        pytest.param(
            StatutContrat.PRET_SIGNATURE,
            TypeContrat.CLS_DEPARTEMENT,
            {"collectivite": date(2024, 3, 15)},
            date(2024, 3, 15),
            "Le signataire pour l'État n'est pas renseigné.",
            id="no-state-signatory",
        ),
        pytest.param(
            StatutContrat.PRET_SIGNATURE,
            TypeContrat.CLS_DEPARTEMENT,
            {"etat": date(2024, 3, 15)},
            date(2024, 3, 15),
            "Le signataire pour la collectivité n'est pas renseigné.",
            id="no-collectivite-signatory",
        ),
        pytest.param(
            StatutContrat.PRET_SIGNATURE,
            TypeContrat.CLS_DEPARTEMENT,
            {"etat": None, "collectivite": date(2024, 3, 15)},
            date(2024, 3, 15),
            "etat (Préfet) n'a pas de date de signature.",
            id="state-signatory-undated",
        ),
        pytest.param(
            StatutContrat.PRET_SIGNATURE,
            TypeContrat.CLS_DEPARTEMENT,
            {"etat": date(2024, 3, 15), "collectivite": date(2024, 3, 16)},
            date(2024, 3, 15),
            "collectivite a signé le 16/03/2024, après le 15/03/2024.",
            id="collectivite-signed-after",
        ),
        pytest.param(
            StatutContrat.PRET_SIGNATURE,
            TypeContrat.CPT,
            {"etat": date(2024, 3, 15), "collectivite": date(2024, 3, 15), "caf": date(2024, 3, 10)},
            date(2024, 3, 15),
            None,
            id="cpt-partner-dated",
        ),
        pytest.param(
            StatutContrat.PRET_SIGNATURE,
            TypeContrat.CPT,
            {"etat": date(2024, 3, 15), "collectivite": date(2024, 3, 15), "caf": None},
            date(2024, 3, 15),
            "caf (Préfet) n'a pas de date de signature.",
            id="cpt-partner-undated",
        ),
        pytest.param(
            StatutContrat.PRET_SIGNATURE,
            TypeContrat.CPT,
            {"etat": date(2024, 3, 15), "collectivite": date(2024, 3, 15), "caf": date(2024, 4, 1)},
            date(2024, 3, 15),
            "caf a signé le 01/04/2024, après le 15/03/2024.",
            id="cpt-partner-signed-after",
        ),
        pytest.param(
            StatutContrat.PRET_SIGNATURE,
            TypeContrat.CLS_DEPARTEMENT,
            {"etat": date(2024, 3, 15), "collectivite": date(2024, 3, 15)},
            "tomorrow",
            "La date de signature ne peut pas être dans le futur.",
            id="future-date",
        ),
        pytest.param(
            StatutContrat.PRET_SIGNATURE,
            TypeContrat.CLS_DEPARTEMENT,
            {"etat": date(2024, 3, 15), "collectivite": date(2024, 3, 15)},
            "today",
            None,
            id="signed-today",
        ),
        pytest.param(
            StatutContrat.EN_NEGOCIATION,
            TypeContrat.CLS_DEPARTEMENT,
            {"etat": date(2024, 3, 15), "collectivite": date(2024, 3, 15)},
            date(2024, 3, 15),
            "Seul un contrat prêt pour signature peut être signé (CLS-2024-D05 est « en négociation »).",
            id="not-ready",
        ),
    ],
)
def test_contrat_sign(statut, type_contrat, signataires, signed_on, expected):
    contrat = contrat_pret(statut, type_contrat=type_contrat, signataires=False, reference="CLS-2024-D05")
    for partie, quand in signataires.items():
        SignataireFactory(
            contrat=contrat,
            partie=PARTENAIRE if partie == "caf" else partie,
            organisation=OrganisationFactory(nom="CAF") if partie == "caf" else None,
            nom=partie,
            date_signature=quand,
        )
    today = timezone.localdate()
    signed_on = {"today": today, "tomorrow": today + timedelta(days=1)}.get(signed_on, signed_on)
    if expected is None:
        contrat_sign(contrat=contrat, signed_on=signed_on)
        contrat.refresh_from_db()
        assert (contrat.statut, contrat.date_signature) == (StatutContrat.SIGNE, signed_on)
        return
    with pytest.raises(ValidationError) as exc:
        contrat_sign(contrat=contrat, signed_on=signed_on)
    assert expected in exc.value.messages
    contrat.refresh_from_db()
    assert (contrat.statut, contrat.date_signature) == (statut, None)


def test_contrat_sign_runs_the_checks_again():
    """Data may change between "prêt pour signature" and the signature: the checks run once more."""
    contrat = contrat_pret(StatutContrat.PRET_SIGNATURE)
    ligne_financement_set(fiche=contrat.fiches.get(), annee=2024, type_financeur=ETAT, prevu=D("10001.01"))
    with pytest.raises(ValidationError) as exc:
        contrat_sign(contrat=contrat, signed_on=SIGNE_LE)
    assert exc.value.messages[0] == f"Le contrat {contrat.reference} ne peut pas être signé :"
    assert any("dépasse celle du Département" in m for m in exc.value.messages)
    assert statut_en_base(contrat) == StatutContrat.PRET_SIGNATURE


def test_partner_signatory_needs_an_organisation():
    contrat = contrat_pret()
    with pytest.raises(ValidationError, match="Un signataire partenaire représente un organisme."):
        signataire_set(contrat=contrat, partie=PARTENAIRE, nom="X", qualite="Directrice")


def test_signataire_set_updates_the_party_signatory():
    contrat = contrat_pret()
    signataire_set(contrat=contrat, partie=PartieSignataire.ETAT, nom="C. Préfète", qualite="Préfète")
    assert list(contrat.signataires.filter(partie="etat").values_list("nom", flat=True)) == ["C. Préfète"]


# --- Frozen after signature ---------------------------------------------------------------------------


@dataclass
class Monde:
    contrat: Contrat
    fiche: FicheAction
    indicateur: Indicateur
    porteur: object
    caf: object


def monde(statut) -> Monde:
    """A convention unique (every axis, volets allowed, so that every contractual write is possible)
    with one validated, funded fiche, an indicator with a 2024 target, a ceiling and both signatories."""
    contrat = contrat_pret(statut, type_contrat=TypeContrat.CONVENTION_UNIQUE, reference="CU-2024-D05")
    fiche = contrat.fiches.get()
    indicateur = IndicateurFactory(fiche=fiche)
    ValeurIndicateurFactory(indicateur=indicateur, annee=2024, cible=D("100"))
    return Monde(contrat, fiche, indicateur, OrganisationFactory(nom="Association"), OrganisationFactory(nom="CAF"))


ECRITURES_CONTRACTUELLES = {
    "fiche_create": lambda m: fiche_create(
        contrat=m.contrat,
        intitule="Nouvelle action",
        axe=axe(3),
        nature=NatureAction.NOUVELLE,
        porteur=m.porteur,
        date_debut=date(2024, 1, 1),
        date_fin=date(2027, 12, 31),
    ),
    "fiche_update": lambda m: fiche_update(fiche=m.fiche, intitule="Autre intitulé"),
    "fiche_update_code": lambda m: fiche_update(fiche=m.fiche, code="A1-02"),
    "fiche_back_to_proposed": lambda m: fiche_transition(fiche=m.fiche, to=StatutFiche.PROPOSEE),
    "ligne_prevu": lambda m: ligne_financement_set(fiche=m.fiche, annee=2024, type_financeur=ETAT, prevu=D("9000")),
    "ligne_prevu_same_value_with_realise": lambda m: ligne_financement_set(
        fiche=m.fiche, annee=2024, type_financeur=ETAT, prevu=D("10000"), realise=D("5000")
    ),
    "new_line_other_funder": lambda m: ligne_financement_set(
        fiche=m.fiche, annee=2024, type_financeur=AUTRE, financeur=m.caf, prevu=D("500")
    ),
    "new_line_execution_only": lambda m: ligne_financement_set(
        fiche=m.fiche, annee=2025, type_financeur=ETAT, engage=D("100")
    ),
    "plafond_set": lambda m: plafond_set(contrat=m.contrat, annee=2024, montant=D("20000")),
    "plafond_set_new_year": lambda m: plafond_set(contrat=m.contrat, annee=2025, montant=D("5000")),
    "indicateur_create": lambda m: indicateur_create(
        fiche=m.fiche, nom="Familles", type_indicateur="resultat", unite="familles"
    ),
    "indicateur_set_cible": lambda m: indicateur_set_cible(indicateur=m.indicateur, annee=2024, cible=D("200")),
    "indicateur_set_cible_new_year": lambda m: indicateur_set_cible(indicateur=m.indicateur, annee=2025, cible=D("1")),
    "volet_create": lambda m: volet_create(contrat=m.contrat, numero=1, intitule="Pilotage de la réforme"),
    "contrat_update_titre": lambda m: contrat_update(contrat=m.contrat, titre="Nouveau titre"),
    "contrat_update_dates": lambda m: contrat_update(contrat=m.contrat, date_fin=date(2027, 12, 31)),
    "contrat_update_axes": lambda m: contrat_update(contrat=m.contrat, axes=[axe(1), axe(2)]),
    "signataire_set": lambda m: signataire_set(
        contrat=m.contrat, partie=PartieSignataire.ETAT, nom="C. Préfète", qualite="Préfète", date_signature=SIGNE_LE
    ),
    "signataire_set_partner": lambda m: signataire_set(
        contrat=m.contrat, partie=PARTENAIRE, organisation=m.caf, nom="D. CAF", qualite="Directrice"
    ),
}
ECRITURES = [pytest.param(f, id=name) for name, f in ECRITURES_CONTRACTUELLES.items()]


@pytest.mark.parametrize("statut", sorted(STATUTS_FIGES))
@pytest.mark.parametrize("ecriture", ECRITURES)
def test_contractual_writes_refused_after_signature(statut, ecriture):
    m = monde(statut)
    before = photo(m.contrat)
    with pytest.raises(ValidationError) as exc:
        ecriture(m)
    assert exc.value.messages == [
        f"Le contrat CU-2024-D05 est {LABEL[statut].lower()} : "
        "ses données contractuelles ne changent plus que par un avenant."
    ]
    assert photo(m.contrat) == before


@pytest.mark.parametrize(
    "statut", [StatutContrat.BROUILLON, StatutContrat.EN_NEGOCIATION, StatutContrat.PRET_SIGNATURE]
)
@pytest.mark.parametrize("ecriture", ECRITURES)
def test_contractual_writes_allowed_before_signature(statut, ecriture):
    """The counterpart of the table above: each write is valid, only the signature forbids it."""
    m = monde(statut)
    before = photo(m.contrat)
    ecriture(m)
    assert photo(m.contrat) != before


@pytest.mark.parametrize("ecriture", ECRITURES)
def test_stale_instances_are_refused_too(ecriture):
    """Objects fetched before the signature still carry the old status: the services read it again."""
    m = monde(StatutContrat.PRET_SIGNATURE)
    contrat_sign(contrat=Contrat.objects.get(pk=m.contrat.pk), signed_on=SIGNE_LE)
    assert m.contrat.statut == m.fiche.contrat.statut == StatutContrat.PRET_SIGNATURE  # stale
    before = photo(m.contrat)
    with pytest.raises(ValidationError, match="ne changent plus que par un avenant"):
        ecriture(m)
    assert photo(m.contrat) == before


def _realise_hors_parite(m):
    ligne_financement_set(fiche=m.fiche, annee=2024, type_financeur=ETAT, realise=D("20000"))
    assert LigneFinancement.objects.get(fiche=m.fiche, type_financeur=ETAT).realise == D("20000")
    assert any("la part réalisée de l'État (20\xa0000,00\xa0€)" in a for a in alertes_realise(m.contrat))


def _fiche_en_cours_puis_terminee(m):
    fiche_transition(fiche=m.fiche, to=StatutFiche.EN_COURS)
    fiche_transition(fiche=m.fiche, to=StatutFiche.TERMINEE)
    assert statut_en_base(m.fiche) == StatutFiche.TERMINEE


def _engage_et_realise(m):
    ligne_financement_set(fiche=m.fiche, annee=2024, type_financeur=ETAT, engage=D("9000"))
    ligne_financement_set(fiche=m.fiche, annee=2024, type_financeur=COLL, engage=D("9000"), realise=D("8500.50"))
    lignes = LigneFinancement.objects.filter(fiche=m.fiche).order_by("type_financeur")
    assert [(lg.type_financeur, lg.prevu, lg.engage, lg.realise) for lg in lignes] == [
        (COLL, D("10000"), D("9000"), D("8500.50")),
        (ETAT, D("10000"), D("9000"), None),
    ]


def _indicateur_realise(m):
    indicateur_set_realise(indicateur=m.indicateur, annee=2024, realise=D("87"))
    valeur = ValeurIndicateur.objects.get(indicateur=m.indicateur, annee=2024)
    assert (valeur.cible, valeur.realise) == (D("100"), D("87"))


def _comite(m):
    comite_create(contrat=m.contrat, type_comite=TypeComite.PILOTAGE, date=date(2024, 11, 5), decisions="RAS")
    assert Comite.objects.filter(contrat=m.contrat).count() == 1


ECRITURES_EXECUTION = [
    pytest.param(_engage_et_realise, id="engage-and-realise"),
    pytest.param(_realise_hors_parite, id="realise-over-parity-is-a-warning"),
    pytest.param(_indicateur_realise, id="indicateur_set_realise"),
    pytest.param(_fiche_en_cours_puis_terminee, id="fiche-en-cours-then-terminee"),
    pytest.param(_comite, id="comite_create"),
]


@pytest.mark.parametrize("statut", [StatutContrat.SIGNE, StatutContrat.EN_EXECUTION])
@pytest.mark.parametrize("ecriture", ECRITURES_EXECUTION)
def test_execution_writes_accepted_after_signature(statut, ecriture):
    m = monde(statut)
    ecriture(m)
    assert statut_en_base(m.contrat) == statut


def test_comite_type_is_checked():
    with pytest.raises(ValidationError, match="Instance inconnue."):
        comite_create(contrat=contrat_pret(), type_comite="autre", date=date(2024, 5, 1))


# --- Avenants -----------------------------------------------------------------------------------------


def avenant_pret(contrat, proposer, objet="Annexe financière") -> Avenant:
    """Opens an avenant, lets ``proposer(avenant)`` add its changes, and makes it ready for signature."""
    avenant = avenant_create(contrat=contrat, objet=objet)
    proposer(avenant)
    return avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)


def signer(avenant, signed_on=date(2024, 9, 1)) -> Avenant:
    return avenant_sign(avenant=avenant, signed_on=signed_on, signataire_etat="Préfet", signataire_collectivite="PCD")


def plafond_2024(avenant, montant="15000"):
    return avenant_propose_plafond(avenant=avenant, annee=2024, montant=D(montant))


def monde_signe() -> Monde:
    """A signed convention unique: A1-01 funded 10 000 € + 10 000 € in 2024, a 15 000 € ceiling for 2024."""
    m = monde(StatutContrat.SIGNE)
    Plafond.objects.filter(contrat=m.contrat).update(montant=D("15000"))
    return m


@pytest.mark.parametrize(
    ("statut", "ok"), [pytest.param(s, s in STATUTS_AVENANT_POSSIBLE, id=s) for s in StatutContrat.values]
)
def test_avenant_only_on_a_signed_contract(statut, ok):
    contrat = contrat_pret(statut)
    if ok:
        assert avenant_create(contrat=contrat, objet="Annexe").numero == 1
        return
    with pytest.raises(ValidationError) as exc:
        avenant_create(contrat=contrat, objet="Annexe")
    assert exc.value.messages == [
        f"Un avenant ne s'ouvre que sur un contrat signé ou en exécution "
        f"({contrat.reference} est « {LABEL[statut].lower()} »)."
    ]
    assert not Avenant.objects.exists()


@pytest.mark.parametrize(
    ("existing", "ok"),
    [
        pytest.param(StatutAvenant.BROUILLON, False, id="draft-open"),
        pytest.param(StatutAvenant.PRET_SIGNATURE, False, id="ready-open"),
        pytest.param(StatutAvenant.SIGNE, True, id="signed-closed"),
        pytest.param(StatutAvenant.ABANDONNE, True, id="abandoned-closed"),
    ],
)
def test_one_open_avenant_at_a_time(existing, ok):
    contrat = contrat_pret(StatutContrat.SIGNE)
    AvenantFactory(
        contrat=contrat,
        numero=1,
        statut=existing,
        date_signature=date(2024, 6, 1) if existing == StatutAvenant.SIGNE else None,
    )
    if ok:
        assert avenant_create(contrat=contrat, objet="Suivant").numero == 2
        return
    with pytest.raises(ValidationError) as exc:
        avenant_create(contrat=contrat, objet="Suivant")
    assert exc.value.messages == ["L'avenant n° 1 est encore ouvert : signez-le ou abandonnez-le d'abord."]
    assert contrat.avenants.count() == 1


def test_avenants_numbered_1_2_3_per_contract():
    m = monde_signe()
    premier = avenant_create(contrat=m.contrat, objet="Premier")
    avenant_transition(avenant=premier, to=StatutAvenant.ABANDONNE)
    deuxieme = signer(avenant_pret(m.contrat, plafond_2024))
    troisieme = avenant_create(contrat=m.contrat, objet="Troisième")
    assert (premier.numero, deuxieme.numero, troisieme.numero) == (1, 2, 3)
    other = contrat_pret(StatutContrat.EN_EXECUTION)
    assert avenant_create(contrat=other, objet="Autre contrat").numero == 1


def _prevu(code="A1-01", annee=2024, type_financeur=ETAT, financeur=None):
    fiche = FicheAction.objects.get(code=code)
    return LigneFinancement.objects.get(
        fiche=fiche, annee=annee, type_financeur=type_financeur, financeur=financeur
    ).prevu


def _cible(m, annee):
    return ValeurIndicateur.objects.get(indicateur=m.indicateur, annee=annee).cible


def _nouvelle_fiche(avenant, m, etat="5000", coll="5000", code="A3-01"):
    avenant_propose_fiche_add(
        avenant=avenant,
        code=code,
        intitule="Médiateurs de rue",
        axe=axe(3),
        nature=NatureAction.NOUVELLE,
        porteur=m.porteur,
        date_debut=date(2024, 6, 1),
        date_fin=date(2027, 12, 31),
    )
    for type_financeur, montant in ((ETAT, etat), (COLL, coll)):
        if montant is not None:
            avenant_propose_prevu(
                avenant=avenant, fiche_code=code, annee=2024, type_financeur=type_financeur, montant=D(montant)
            )


AVENANTS_APPLIQUES = [
    pytest.param(
        lambda a, m: avenant_propose_prevu(
            avenant=a, fiche_code="A1-01", annee=2024, type_financeur=COLL, montant=D("15000")
        ),
        [("prevu", "10000.00", "15000.00")],
        lambda m: _prevu(type_financeur=COLL) == D("15000"),
        id="planned-amount",
    ),
    pytest.param(
        lambda a, m: avenant_propose_prevu(
            avenant=a, fiche_code="A1-01", annee=2024, type_financeur=AUTRE, financeur=m.caf, montant=D("5000")
        ),
        [("prevu", None, "5000.00")],
        lambda m: _prevu(type_financeur=AUTRE, financeur=m.caf) == D("5000"),
        id="new-funder-line",
    ),
    pytest.param(
        lambda a, m: (
            avenant_propose_prevu(avenant=a, fiche_code="A1-01", annee=2025, type_financeur=ETAT, montant=D("3000")),
            avenant_propose_prevu(avenant=a, fiche_code="A1-01", annee=2025, type_financeur=COLL, montant=D("3000")),
            avenant_propose_plafond(avenant=a, annee=2025, montant=D("3000")),
        ),
        [("prevu", None, "3000.00"), ("prevu", None, "3000.00"), ("plafond", None, "3000.00")],
        lambda m: _prevu(annee=2025) == D("3000") and Plafond.objects.get(annee=2025).montant == D("3000"),
        id="new-year-with-its-ceiling",
    ),
    pytest.param(
        lambda a, m: plafond_2024(a, "20000"),
        [("plafond", "15000.00", "20000.00")],
        lambda m: Plafond.objects.get(annee=2024).montant == D("20000"),
        id="ceiling",
    ),
    pytest.param(
        lambda a, m: avenant_propose_fiche_change(
            avenant=a,
            fiche=m.fiche,
            intitule="Bus des familles itinérant",
            date_fin=date(2026, 6, 30),
            etp=D("1.5"),
            mesure=Mesure.objects.get(code="1.2"),
        ),
        [
            (
                "fiche",
                {"intitule": "INTITULE", "date_fin": "2027-12-31", "etp": None, "mesure": None},
                {"intitule": "Bus des familles itinérant", "date_fin": "2026-06-30", "etp": "1.5", "mesure": "1.2"},
            )
        ],
        lambda m: FicheAction.objects.filter(
            pk=m.fiche.pk,
            intitule="Bus des familles itinérant",
            date_fin=date(2026, 6, 30),
            etp=D("1.5"),
            mesure__code="1.2",
        ).exists(),
        id="fiche-fields",
    ),
    pytest.param(
        lambda a, m: avenant_propose_fiche_change(
            avenant=a, fiche=m.fiche, nature=NatureAction.RENFORCEE, justification_renforcement="Nouveaux publics"
        ),
        [
            (
                "fiche",
                {"nature": "nouvelle", "justification_renforcement": ""},
                {"nature": "renforcee", "justification_renforcement": "Nouveaux publics"},
            )
        ],
        lambda m: FicheAction.objects.get(pk=m.fiche.pk).nature == NatureAction.RENFORCEE,
        id="fiche-becomes-renforcee",
    ),
    pytest.param(
        _nouvelle_fiche,
        [("fiche_ajout", None, "NEW"), ("prevu", None, "5000.00"), ("prevu", None, "5000.00")],
        lambda m: (
            FicheAction.objects.filter(code="A3-01", statut=StatutFiche.VALIDEE, axe__numero=3).exists()
            and _prevu("A3-01") == _prevu("A3-01", type_financeur=COLL) == D("5000")
        ),
        id="new-fiche-with-its-funding-up-to-the-ceiling",
    ),
    pytest.param(
        lambda a, m: avenant_propose_cible(avenant=a, indicateur=m.indicateur, annee=2024, cible=D("150")),
        [("cible", {"cible": "100.00"}, {"cible": "150"})],
        lambda m: _cible(m, 2024) == D("150"),
        id="indicator-target",
    ),
    pytest.param(
        lambda a, m: avenant_propose_cible(avenant=a, indicateur=m.indicateur, annee=2025, cible=D("120")),
        [("cible", {"cible": None}, {"cible": "120"})],
        lambda m: _cible(m, 2025) == D("120"),
        id="indicator-target-new-year",
    ),
    pytest.param(
        lambda a, m: avenant_propose_cible(avenant=a, indicateur=m.indicateur, annee=2024, cible=None),
        [("cible", {"cible": "100.00"}, {"cible": None})],
        lambda m: _cible(m, 2024) is None,
        id="indicator-target-removed",
    ),
]


@pytest.mark.parametrize(("proposer", "expected", "applied"), AVENANTS_APPLIQUES)
def test_avenant_sign_applies_each_change(proposer, expected, applied):
    m = monde_signe()
    avenant = signer(avenant_pret(m.contrat, lambda a: proposer(a, m)))
    assert statut_en_base(avenant) == StatutAvenant.SIGNE
    avenant.refresh_from_db()
    assert (avenant.date_signature, avenant.signataire_etat, avenant.signataire_collectivite) == (
        date(2024, 9, 1),
        "Préfet",
        "PCD",
    )
    assert applied(m)
    modifications = list(avenant.modifications.order_by("pk"))
    assert all(mod.applique_le is not None for mod in modifications)
    got = [(mod.nature, mod.avant, mod.apres) for mod in modifications]
    for i, (nature, avant, apres) in enumerate(expected):
        if isinstance(avant, dict) and avant.get("intitule") == "INTITULE":
            avant = {**avant, "intitule": m.fiche.intitule}
        if apres == "NEW":
            apres = got[i][2]
            assert apres["intitule"] == "Médiateurs de rue" and apres["axe"] == 3
        assert got[i] == (nature, avant, apres)
    assert len(got) == len(expected)


AVENANTS_IRREGULIERS = [
    pytest.param(
        lambda a, m: avenant_propose_prevu(
            avenant=a, fiche_code="A1-01", annee=2024, type_financeur=ETAT, montant=D("11001.01")
        ),
        "Fiche A1-01, 2024 : la part prévue de l'État (11\xa0001,01\xa0€) dépasse celle du Département "
        "(10\xa0000,00\xa0€) de 1\xa0001,01\xa0€",
        id="parity",
    ),
    pytest.param(
        lambda a, m: plafond_2024(a, "9999.99"),
        "2024 : les parts prévues de l'État (10\xa0000,00\xa0€) dépassent l'enveloppe annuelle (9\xa0999,99\xa0€) "
        "de 0,01\xa0€",
        id="ceiling-lowered",
    ),
    pytest.param(
        lambda a, m: (
            avenant_propose_prevu(
                avenant=a, fiche_code="A1-01", annee=2024, type_financeur=ETAT, montant=D("15000.01")
            ),
            avenant_propose_prevu(
                avenant=a, fiche_code="A1-01", annee=2024, type_financeur=COLL, montant=D("15000.01")
            ),
        ),
        "2024 : les parts prévues de l'État (15\xa0000,01\xa0€) dépassent l'enveloppe annuelle (15\xa0000,00\xa0€) "
        "de 0,01\xa0€",
        id="ceiling-one-cent-over",
    ),
    pytest.param(
        lambda a, m: _nouvelle_fiche(a, m, etat="5000.01", coll="5000.01"),
        "dépassent l'enveloppe annuelle (15\xa0000,00\xa0€) de 0,01\xa0€",
        id="new-fiche-over-the-ceiling",
    ),
    pytest.param(
        lambda a, m: _nouvelle_fiche(a, m, etat="1000", coll=None),
        "Fiche A3-01, 2024 : la part prévue de l'État (1\xa0000,00\xa0€) dépasse celle du Département (0,00\xa0€)",
        id="new-fiche-without-collectivite-money",
    ),
    pytest.param(
        lambda a, m: (
            avenant_propose_prevu(avenant=a, fiche_code="A1-01", annee=2025, type_financeur=ETAT, montant=D("100")),
            avenant_propose_prevu(avenant=a, fiche_code="A1-01", annee=2025, type_financeur=COLL, montant=D("100")),
        ),
        "2025 : aucune enveloppe de l'État n'est fixée pour 100,00\xa0€ de parts prévues",
        id="new-year-without-ceiling",
    ),
    pytest.param(
        lambda a, m: (
            avenant_propose_fiche_change(avenant=a, fiche=m.fiche, intitule="Changé"),
            avenant_propose_cible(avenant=a, indicateur=m.indicateur, annee=2024, cible=D("999")),
            plafond_2024(a, "20000"),
            avenant_propose_prevu(avenant=a, fiche_code="A1-01", annee=2024, type_financeur=ETAT, montant=D("12000")),
        ),
        "dépasse celle du Département",
        id="valid-changes-then-a-breaking-one",
    ),
    pytest.param(
        lambda a, m: avenant_propose_fiche_change(avenant=a, fiche=m.fiche, date_fin=date(2028, 1, 1)),
        "Fiche A1-01 : L'action finit le 01/01/2028, après le contrat (31/12/2027).",
        id="fiche-out-of-the-period",
    ),
]


@pytest.mark.parametrize(("proposer", "expected"), AVENANTS_IRREGULIERS)
def test_avenant_breaking_the_rules_applies_nothing(proposer, expected):
    m = monde_signe()
    avenant = avenant_pret(m.contrat, lambda a: proposer(a, m))
    before = photo(m.contrat)
    with pytest.raises(ValidationError) as exc:
        signer(avenant)
    assert any(expected in msg for msg in exc.value.messages), exc.value.messages
    assert photo(m.contrat) == before  # amounts, fiches, targets, the avenant and its changes
    assert statut_en_base(avenant) == StatutAvenant.PRET_SIGNATURE
    assert not avenant.modifications.filter(applique_le__isnull=False).exists()
    assert not avenant.modifications.filter(avant__isnull=False).exists()


def test_avenant_breaking_the_rules_reports_the_contract():
    m = monde_signe()
    avenant = avenant_pret(m.contrat, lambda a: plafond_2024(a, "0"))
    with pytest.raises(ValidationError) as exc:
        signer(avenant)
    assert (
        exc.value.messages[0] == f"Après application, l'avenant n° {avenant.numero} laisserait le contrat irrégulier :"
    )


@pytest.mark.parametrize("fin", [StatutContrat.CLOS, StatutContrat.RESILIE])
def test_avenant_not_signed_once_the_contract_is_closed(fin):
    m = monde_signe()
    avenant = avenant_pret(m.contrat, plafond_2024)
    Contrat.objects.filter(pk=m.contrat.pk).update(statut=fin)
    with pytest.raises(ValidationError, match="il ne peut plus être modifié par avenant"):
        signer(avenant)
    assert statut_en_base(avenant) == StatutAvenant.PRET_SIGNATURE
    assert Plafond.objects.get(contrat=m.contrat, annee=2024, volet=None).montant == D("15000")


@pytest.mark.parametrize(
    ("service", "obj"),
    [
        (lambda o: contrat_transition(contrat=o, to="perdu"), lambda: contrat_pret()),
        (
            lambda o: avenant_transition(avenant=o, to="perdu"),
            lambda: avenant_create(contrat=monde_signe().contrat, objet="x"),
        ),
    ],
    ids=["contrat", "avenant"],
)
def test_unknown_status_is_a_validation_error(service, obj):
    with pytest.raises(ValidationError, match="inconnu : « perdu »"):
        service(obj())


@pytest.mark.parametrize(
    ("signed_on", "expected"),
    [
        pytest.param(SIGNE_LE - timedelta(days=1), "Un avenant ne peut pas être signé avant le contrat.", id="before"),
        pytest.param(SIGNE_LE, None, id="same-day-as-the-contract"),
        pytest.param("today", None, id="today"),
        pytest.param("tomorrow", "La date de signature ne peut pas être dans le futur.", id="future"),
    ],
)
def test_avenant_signature_date(signed_on, expected):
    m = monde_signe()
    avenant = avenant_pret(m.contrat, plafond_2024)
    today = timezone.localdate()
    signed_on = {"today": today, "tomorrow": today + timedelta(days=1)}.get(signed_on, signed_on)
    if expected is None:
        assert signer(avenant, signed_on).date_signature == signed_on
        return
    before = photo(m.contrat)
    with pytest.raises(ValidationError) as exc:
        signer(avenant, signed_on)
    assert exc.value.message_dict == {"date_signature": [expected]}
    assert photo(m.contrat) == before


@pytest.mark.parametrize(
    ("etat", "collectivite"), [pytest.param("", "PCD", id="no-state"), pytest.param("Préfet", "", id="no-collectivite")]
)
def test_avenant_needs_both_signatories(etat, collectivite):
    m = monde_signe()
    avenant = avenant_pret(m.contrat, plafond_2024)
    with pytest.raises(ValidationError, match="Les deux signataires de l'avenant sont obligatoires."):
        avenant_sign(
            avenant=avenant, signed_on=date(2024, 9, 1), signataire_etat=etat, signataire_collectivite=collectivite
        )
    assert statut_en_base(avenant) == StatutAvenant.PRET_SIGNATURE


def test_avenant_without_changes_cannot_be_ready():
    m = monde_signe()
    avenant = avenant_create(contrat=m.contrat, objet="Rien")
    with pytest.raises(ValidationError) as exc:
        avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    assert exc.value.messages == ["L'avenant n° 1 ne modifie rien."]
    assert statut_en_base(avenant) == StatutAvenant.BROUILLON


def test_same_target_twice_keeps_the_last_change():
    m = monde_signe()
    avenant = avenant_create(contrat=m.contrat, objet="Annexe")
    plafond_2024(avenant, "16000")
    plafond_2024(avenant, "17000")
    avenant_propose_plafond(avenant=avenant, annee=2025, montant=D("1"))
    assert list(avenant.modifications.order_by("pk").values_list("apres", flat=True)) == ["17000.00", "1.00"]


@pytest.mark.parametrize("statut", [StatutAvenant.PRET_SIGNATURE, StatutAvenant.SIGNE, StatutAvenant.ABANDONNE])
@pytest.mark.parametrize("stale", [False, True], ids=["fresh", "stale"])
def test_changes_only_on_a_draft_avenant(statut, stale):
    m = monde_signe()
    avenant = avenant_create(contrat=m.contrat, objet="Annexe")
    plafond_2024(avenant, "16000")
    fresh = avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    if statut == StatutAvenant.SIGNE:
        fresh = signer(fresh)
    elif statut == StatutAvenant.ABANDONNE:
        fresh = avenant_transition(avenant=fresh, to=StatutAvenant.ABANDONNE)
    target = avenant if stale else fresh
    with pytest.raises(ValidationError, match="il ne se modifie plus"):
        plafond_2024(target, "18000")
    assert list(avenant.modifications.values_list("apres", flat=True)) == ["16000.00"]


@pytest.mark.parametrize(
    ("proposer", "expected"),
    [
        pytest.param(
            lambda a, m, other: avenant_propose_fiche_change(avenant=a, fiche=other, intitule="X"),
            "Cette fiche n'appartient pas au contrat de l'avenant.",
            id="fiche-of-another-contract",
        ),
        pytest.param(
            lambda a, m, other: avenant_propose_fiche_change(avenant=a, fiche=m.fiche, statut=StatutFiche.TERMINEE),
            "Champs non modifiables par avenant : statut.",
            id="fiche-status-is-not-contractual",
        ),
        pytest.param(
            lambda a, m, other: avenant_propose_cible(
                avenant=a, indicateur=IndicateurFactory(fiche=other), annee=2024, cible=D("1")
            ),
            "Cet indicateur n'appartient pas au contrat de l'avenant.",
            id="indicator-of-another-contract",
        ),
        pytest.param(
            lambda a, m, other: avenant_propose_prevu(
                avenant=a, fiche_code="A4-09", annee=2024, type_financeur=ETAT, montant=D("1")
            ),
            "La fiche A4-09 n'existe pas dans le contrat CU-2024-D05.",
            id="prevu-of-an-unknown-fiche",
        ),
        pytest.param(
            lambda a, m, other: avenant_propose_prevu(
                avenant=a, fiche_code="A1-01", annee=2028, type_financeur=ETAT, montant=D("1")
            ),
            "2028 est hors de la période du contrat CU-2024-D05 (2024-2027).",
            id="prevu-outside-the-period",
        ),
        pytest.param(
            lambda a, m, other: avenant_propose_prevu(
                avenant=a, fiche_code="A1-01", annee=2024, type_financeur=ETAT, montant=1.5
            ),
            "Les montants sont des décimaux, jamais des flottants.",
            id="prevu-float",
        ),
        pytest.param(
            lambda a, m, other: avenant_propose_plafond(avenant=a, annee=2024, montant=D("-1")),
            "Le montant ne peut pas être négatif (-1,00\xa0€).",
            id="plafond-negative",
        ),
        pytest.param(
            lambda a, m, other: _nouvelle_fiche(a, m, code="A1-01"),
            "Le code A1-01 existe déjà dans le contrat CU-2024-D05.",
            id="new-fiche-with-an-existing-code",
        ),
        pytest.param(
            lambda a, m, other: avenant_propose_fiche_add(
                avenant=a,
                code="A3-05",
                intitule="Hors période",
                axe=axe(3),
                nature=NatureAction.NOUVELLE,
                porteur=m.porteur,
                date_debut=date(2024, 1, 1),
                date_fin=date(2028, 1, 1),
            ),
            "L'action finit le 01/01/2028, après le contrat (31/12/2027).",
            id="new-fiche-checked-when-proposed",
        ),
    ],
)
def test_avenant_proposals_are_checked(proposer, expected):
    m = monde_signe()
    other = FicheActionFactory(code="A1-01")
    avenant = avenant_create(contrat=m.contrat, objet="Annexe")
    with pytest.raises(ValidationError) as exc:
        proposer(avenant, m, other)
    assert expected in exc.value.messages
    assert not avenant.modifications.exists()


# --- Avenant transitions: every (from, to) pair -------------------------------------------------------

AVENANT_PAIRS = [(a, b) for a in StatutAvenant.values for b in StatutAvenant.values]


@pytest.mark.parametrize(("before", "after"), [pytest.param(a, b, id=f"{a}->{b}") for a, b in AVENANT_PAIRS])
def test_avenant_transitions(before, after):
    contrat = contrat_pret(StatutContrat.SIGNE)
    avenant = AvenantFactory(
        contrat=contrat,
        numero=1,
        statut=before,
        date_signature=date(2024, 6, 1) if before == StatutAvenant.SIGNE else None,
    )
    ModificationAvenant.objects.create(
        avenant=avenant,
        nature=NatureModification.PLAFOND,
        libelle="Enveloppe 2024",
        cible={"annee": 2024, "volet": None},
        apres="12000.00",
    )
    if after not in TRANSITIONS_AVENANT[before]:
        with pytest.raises(ValidationError) as exc:
            avenant_transition(avenant=avenant, to=after)
        assert exc.value.messages == [f"L'avenant n° 1 ne peut pas passer de « {LABEL[before]} » à « {LABEL[after]} »."]
        if after == StatutAvenant.SIGNE:
            with pytest.raises(ValidationError, match="Seul un avenant prêt pour signature peut être signé"):
                signer(avenant)
        assert statut_en_base(avenant) == before
        return
    if after == StatutAvenant.SIGNE:
        with pytest.raises(ValidationError, match="La signature d'un avenant s'enregistre avec sa date."):
            avenant_transition(avenant=avenant, to=after)
        assert statut_en_base(avenant) == before
        signer(avenant)
        assert Plafond.objects.get(contrat=contrat).montant == D("12000")
    else:
        assert avenant_transition(avenant=avenant, to=after).statut == after
    assert statut_en_base(avenant) == after


def test_avenant_transitions_table():
    assert TRANSITIONS_AVENANT == {
        "brouillon": {"pret_signature", "abandonne"},
        "pret_signature": {"brouillon", "signe", "abandonne"},
        "signe": set(),
        "abandonne": set(),
    }


def test_modification_add_refuses_unknown_natures():
    m = monde_signe()
    avenant = avenant_create(contrat=m.contrat, objet="Annexe")
    with pytest.raises(ValidationError, match="Nature de modification inconnue : autre."):
        modification_add(avenant=avenant, nature="autre", libelle="X", cible={}, apres=None)

"""The renewal of an annual CDIE (docs/regles.md, « Renouvellement d'un CDIE »): the next year's contract,
its fiches linked to their origin, their indicators and money copied; the history of an action across
renewals (``actions.selectors.fiche_lineage``); the admin action."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F
from django.urls import reverse

from actions.enums import NatureAction, StatutFiche
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from actions.selectors import fiche_lineage
from contrats.enums import StatutContrat, TypeContrat
from contrats.models import Contrat, LibelleAxe, ObjectifContrat
from contrats.services import pacte_local_get_or_create
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement, Plafond
from financement.renouvellement import contrat_renew
from pacte.models import Mesure
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    ValeurIndicateurFactory,
    VoletFactory,
    axe,
    collectivite,
)

pytestmark = pytest.mark.django_db

D = Decimal
ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE


def cdie(
    code="D05", *, statut=StatutContrat.SIGNE, debut=date(2024, 1, 1), fin=date(2024, 12, 31), reference=None
) -> Contrat:
    """A CDIE of ``code`` with two volets, a pacte local, a preamble, two objectives and a local label:
    A2-01 (volet 1, validated), A2-02 (volet 2, in progress) and A2-03 (abandoned), funded every year of
    the contract; A2-01 has an indicator with yearly targets; ceilings of the contract and of volet 1."""
    contrat = ContratFactory(
        collectivite=collectivite(code),
        cdie=True,
        reference=reference or f"CDIE-{debut.year}-{code}",
        statut=statut,
        date_debut=debut,
        date_fin=fin,
        date_signature=date(2024, 3, 15) if statut != StatutContrat.BROUILLON else None,
        titre="Convention départementale d'insertion et d'emploi",
    )
    Contrat.objects.filter(pk=contrat.pk).update(
        pacte_local=pacte_local_get_or_create(collectivite=collectivite(code)),
        preambule="<p>Préambule</p>",
        diagnostic="<p>Diagnostic</p>",
    )
    contrat.refresh_from_db()
    ObjectifContrat.objects.create(contrat=contrat, ordre=1, libelle="Accompagner les allocataires")
    ObjectifContrat.objects.create(contrat=contrat, ordre=2, libelle="Lever les freins")
    LibelleAxe.objects.create(contrat=contrat, axe=axe(2), libelle="Insertion et emploi")
    volet_1 = VoletFactory(contrat=contrat, numero=1, intitule="Pilotage de la réforme")
    volet_2 = VoletFactory(contrat=contrat, numero=2, intitule="Accompagnement")
    porteur = OrganisationFactory(nom="Association Trait d'union")
    caf = OrganisationFactory(nom="CAF")
    mesure = Mesure.objects.filter(axe__numero=2).order_by("code").first()
    fiches = [
        FicheActionFactory(
            contrat=contrat,
            code="A2-01",
            axe=axe(2),
            mesure=mesure,
            volet=volet_1,
            intitule="Référents de parcours",
            nature=NatureAction.RENFORCEE,
            justification_renforcement="Deux fois plus de bénéficiaires.",
            porteur=porteur,
            description="Un référent par allocataire.",
            volume_public=300,
            etp=D("2.50"),
            date_debut=debut,
            date_fin=fin,
            statut=StatutFiche.VALIDEE,
        ),
        FicheActionFactory(
            contrat=contrat,
            code="A2-02",
            axe=axe(2),
            volet=volet_2,
            porteur=porteur,
            date_debut=debut,
            date_fin=fin,
            statut=StatutFiche.EN_COURS,
        ),
        FicheActionFactory(
            contrat=contrat,
            code="A2-03",
            axe=axe(2),
            volet=volet_2,
            porteur=porteur,
            date_debut=debut,
            date_fin=fin,
            statut=StatutFiche.ABANDONNEE,
        ),
    ]
    for rang, annee in enumerate(contrat.annees):
        for fiche in fiches:
            LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=ETAT, prevu=D(10000 + 1000 * rang))
            LigneFinancementFactory(
                fiche=fiche,
                annee=annee,
                type_financeur=COLL,
                prevu=D(10000 + 1000 * rang),
                engage=D("9000"),
                realise=D("8000"),
            )
        LigneFinancementFactory(fiche=fiches[0], annee=annee, type_financeur=AUTRE, financeur=caf, prevu=D("5000"))
        PlafondFactory(contrat=contrat, annee=annee, montant=D(30000 + 1000 * rang))
        PlafondFactory(contrat=contrat, volet=volet_1, annee=annee, montant=D(15000 + 1000 * rang))
    indicateur = IndicateurFactory(fiche=fiches[0], nom="Allocataires accompagnés", valeur_reference=D("250"))
    for rang, annee in enumerate(contrat.annees):
        ValeurIndicateurFactory(indicateur=indicateur, annee=annee, cible=D(100 + rang), realise=D("80"))
    IndicateurFactory(fiche=fiches[0], nom="Sorties positives", unite="%")  # no target at all
    return contrat


def photo(contrat: Contrat) -> dict:
    def rows(qs):
        return list(qs.order_by("pk").values())

    return {
        "contrat": rows(Contrat.objects.filter(pk=contrat.pk)),
        "fiches": rows(FicheAction.objects.filter(contrat=contrat)),
        "lignes": rows(LigneFinancement.objects.filter(fiche__contrat=contrat)),
        "valeurs": rows(ValeurIndicateur.objects.filter(indicateur__fiche__contrat=contrat)),
        "plafonds": rows(Plafond.objects.filter(contrat=contrat)),
        "objectifs": rows(ObjectifContrat.objects.filter(contrat=contrat)),
    }


def test_renewal_creates_the_next_cdie(editeur):
    source = cdie()
    before = photo(source)
    nouveau = contrat_renew(contrat=source, by=editeur)

    nouveau.refresh_from_db()
    assert (nouveau.reference, nouveau.type_contrat, nouveau.statut) == (
        "CDIE-2025-D05",
        TypeContrat.CDIE,
        StatutContrat.BROUILLON,
    )
    assert (nouveau.date_debut, nouveau.date_fin) == (date(2025, 1, 1), date(2025, 12, 31))
    assert (nouveau.collectivite, nouveau.pacte_local, nouveau.contrat_precedent) == (
        source.collectivite,
        source.pacte_local,
        source,
    )
    assert (nouveau.titre, nouveau.preambule, nouveau.diagnostic) == (
        source.titre,
        "<p>Préambule</p>",
        "<p>Diagnostic</p>",
    )
    assert list(nouveau.axes.values_list("numero", flat=True)) == [2]
    assert list(nouveau.volets.values_list("numero", "intitule")) == [
        (1, "Pilotage de la réforme"),
        (2, "Accompagnement"),
    ]
    assert list(nouveau.objectifs.values_list("ordre", "libelle")) == [
        (1, "Accompagner les allocataires"),
        (2, "Lever les freins"),
    ]
    assert list(nouveau.libelles_axes.values_list("axe__numero", "libelle")) == [(2, "Insertion et emploi")]
    assert source.renouvellement == nouveau
    assert photo(source) == before  # the renewed contract does not change
    assert set(nouveau.history.values_list("history_user", flat=True)) == {editeur.pk}


def test_renewal_copies_each_active_fiche_with_its_origin(editeur):
    source = cdie()
    nouveau = contrat_renew(contrat=source, by=editeur)
    copies = {f.code: f for f in nouveau.fiches.select_related("volet", "origine")}
    assert sorted(copies) == ["A2-01", "A2-02"]  # A2-03 was abandoned
    for code, copie in copies.items():
        origine = source.fiches.get(code=code)
        assert copie.origine == origine
        assert copie.statut == StatutFiche.PROPOSEE
        assert (copie.date_debut, copie.date_fin) == (date(2025, 1, 1), date(2025, 12, 31))
        assert copie.volet.contrat == nouveau and copie.volet.numero == origine.volet.numero
        assert copie.uid != origine.uid
        for name in ("intitule", "axe_id", "mesure_id", "nature", "justification_renforcement", "porteur_id"):
            assert getattr(copie, name) == getattr(origine, name), name
    a201 = copies["A2-01"]
    assert (a201.description, a201.volume_public, a201.etp) == ("Un référent par allocataire.", 300, D("2.50"))
    assert a201.history.get().history_user == editeur


def test_renewal_copies_indicators_with_the_last_target(editeur):
    source = cdie()
    nouveau = contrat_renew(contrat=source, by=editeur)
    indicateurs = Indicateur.objects.filter(fiche__contrat=nouveau).order_by("pk")
    assert [(i.fiche.code, i.nom, i.unite, i.valeur_reference) for i in indicateurs] == [
        ("A2-01", "Allocataires accompagnés", "personnes", D("250")),
        ("A2-01", "Sorties positives", "%", None),
    ]
    assert list(
        ValeurIndicateur.objects.filter(indicateur__fiche__contrat=nouveau).values_list("annee", "cible", "realise")
    ) == [(2025, D("100"), None)]


def test_renewal_moves_the_planned_lines_and_the_ceilings_to_the_new_year(editeur):
    source = cdie()
    nouveau = contrat_renew(contrat=source, by=editeur)
    lignes = LigneFinancement.objects.filter(fiche__contrat=nouveau).order_by("fiche__code", "type_financeur")
    assert [
        (x.fiche.code, x.annee, x.type_financeur, x.financeur and x.financeur.nom, x.prevu, x.engage, x.realise)
        for x in lignes
    ] == [
        ("A2-01", 2025, AUTRE, "CAF", D("5000"), None, None),
        ("A2-01", 2025, COLL, None, D("10000"), None, None),
        ("A2-01", 2025, ETAT, None, D("10000"), None, None),
        ("A2-02", 2025, COLL, None, D("10000"), None, None),
        ("A2-02", 2025, ETAT, None, D("10000"), None, None),
    ]
    plafonds = Plafond.objects.filter(contrat=nouveau).order_by(F("volet__numero").asc(nulls_first=True))
    assert [(p.annee, p.volet and p.volet.numero, p.volet and p.volet.contrat_id, p.montant) for p in plafonds] == [
        (2025, None, None, D("30000")),
        (2025, 1, nouveau.pk, D("15000")),
    ]


def test_a_longer_contract_gives_its_last_year():
    """A two-year source: the lines and ceilings of its last year, the last target that was set."""
    source = cdie(debut=date(2024, 1, 1), fin=date(2025, 12, 31), reference="CDIE-2024-D05")
    ValeurIndicateur.objects.filter(indicateur__fiche__contrat=source, annee=2025).update(cible=None)
    nouveau = contrat_renew(contrat=source, by=None)
    assert nouveau.reference == "CDIE-2026-D05"
    etat = LigneFinancement.objects.get(fiche__contrat=nouveau, fiche__code="A2-01", type_financeur=ETAT)
    assert (etat.annee, etat.prevu) == (2026, D("11000"))
    assert Plafond.objects.get(contrat=nouveau, volet=None).montant == D("31000")
    valeur = ValeurIndicateur.objects.get(
        indicateur__fiche__contrat=nouveau, indicateur__nom="Allocataires accompagnés"
    )
    assert (valeur.annee, valeur.cible) == (2026, D("100"))  # 2025 had no target: 2024's


@pytest.mark.parametrize(
    ("preparer", "annee", "expected"),
    [
        pytest.param(
            lambda: ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05", signe=True),
            None,
            "Seul un CDIE se renouvelle d'une année sur l'autre (CLS-2024-D05 est un CLS – contrat local des "
            "solidarités (département)).",
            id="not-a-cdie",
        ),
        *[
            pytest.param(
                lambda statut=statut: cdie(statut=statut),
                None,
                f"Seul un CDIE signé, en exécution ou clos se renouvelle (CDIE-2024-D05 est « {label} »).",
                id=f"status-{statut}",
            )
            for statut, label in [
                (StatutContrat.BROUILLON, "brouillon"),
                (StatutContrat.EN_NEGOCIATION, "en négociation"),
                (StatutContrat.PRET_SIGNATURE, "prêt pour signature"),
                (StatutContrat.RESILIE, "résilié"),
            ]
        ],
        pytest.param(
            lambda: cdie(),
            2024,
            "Le renouvellement porte sur une année qui suit le contrat (CDIE-2024-D05 va jusqu'en 2024, pas 2024).",
            id="same-year",
        ),
        pytest.param(
            lambda: cdie(), 2028, "L'année 2028 est hors de la période du Pacte (2024-2027).", id="after-pacte"
        ),
        pytest.param(
            lambda: (ContratFactory(collectivite=collectivite("D05"), cdie=True, reference="CDIE-2025-D05"), cdie())[1],
            None,
            "Le contrat CDIE-2025-D05 existe déjà.",
            id="reference-taken",
        ),
    ],
)
def test_renewal_refusals(preparer, annee, expected):
    source = preparer()
    contrats = Contrat.objects.count()
    with pytest.raises(ValidationError) as exc:
        contrat_renew(contrat=source, by=None, annee=annee)
    assert exc.value.messages == [f"Le contrat {source.reference} ne peut pas être renouvelé :", expected]
    assert Contrat.objects.count() == contrats


@pytest.mark.parametrize("statut", [StatutContrat.SIGNE, StatutContrat.EN_EXECUTION, StatutContrat.CLOS])
def test_renewal_accepted_from_signature_on(statut):
    assert contrat_renew(contrat=cdie(statut=statut), by=None).reference == "CDIE-2025-D05"


@pytest.mark.parametrize(("annee", "reference"), [(2025, "CDIE-2025-D05"), (2027, "CDIE-2027-D05")])
def test_renewal_year_edges(annee, reference):
    assert contrat_renew(contrat=cdie(), by=None, annee=annee).reference == reference


@pytest.mark.parametrize("annee", ["2025", 2025.0, True])
def test_renewal_year_is_an_integer(annee):
    with pytest.raises(ValidationError) as exc:
        contrat_renew(contrat=cdie(), by=None, annee=annee)
    assert exc.value.message_dict == {"annee": ["Saisissez une année (ex. 2025)."]}


def test_a_cdie_is_renewed_once():
    source = cdie()
    contrat_renew(contrat=source, by=None)
    with pytest.raises(ValidationError) as exc:
        contrat_renew(contrat=source, by=None, annee=2026)
    assert exc.value.messages == [
        "Le contrat CDIE-2024-D05 ne peut pas être renouvelé :",
        "Le CDIE CDIE-2024-D05 a déjà été renouvelé par CDIE-2025-D05.",
    ]
    assert Contrat.objects.filter(type_contrat=TypeContrat.CDIE).count() == 2


def test_a_fiche_that_breaks_a_rule_in_the_new_contract_rolls_everything_back():
    source = cdie()
    # Out of the rules (set up past the services): a measure of axis 1 on an axis-2 action.
    FicheAction.objects.filter(contrat=source, code="A2-02").update(
        mesure=Mesure.objects.filter(axe__numero=1).order_by("code").first()
    )
    contrats = Contrat.objects.count()
    with pytest.raises(ValidationError) as exc:
        contrat_renew(contrat=source, by=None)
    assert exc.value.messages[0].startswith("Fiche A2-02 : La mesure ")
    assert Contrat.objects.count() == contrats
    assert not FicheAction.objects.filter(origine__contrat=source).exists()


# --- History of an action across renewals ------------------------------------------------------------------


def _signed(contrat: Contrat) -> Contrat:
    """The renewed draft, signed (set up past the services: signing is tested elsewhere)."""
    Contrat.objects.filter(pk=contrat.pk).update(statut=StatutContrat.SIGNE, date_signature=date(2024, 3, 15))
    contrat.refresh_from_db()
    return contrat


def test_fiche_lineage_spans_the_renewals(django_assert_num_queries):
    c2024 = cdie()
    c2025 = _signed(contrat_renew(contrat=c2024, by=None))
    c2026 = _signed(contrat_renew(contrat=c2025, by=None))
    c2027 = contrat_renew(contrat=c2026, by=None)
    chain = [c.fiches.get(code="A2-01") for c in (c2024, c2025, c2026, c2027)]
    for depth in range(4):
        fiche = FicheAction.objects.get(pk=chain[depth].pk)
        with django_assert_num_queries(0 if depth == 0 else 2):
            lignee = fiche_lineage(fiche)
            contrats = [f.contrat.reference for f in lignee[:-1]]  # contracts read with the fiches
        assert [f.pk for f in lignee] == [f.pk for f in chain[: depth + 1]]
        assert contrats == [c.reference for c in (c2024, c2025, c2026)[:depth]]
    # Each renewed fiche points to its direct origin; the lineage of another action stays its own.
    assert [f.origine_id for f in chain] == [None, *[f.pk for f in chain[:-1]]]
    assert [f.code for f in fiche_lineage(c2027.fiches.get(code="A2-02"))] == ["A2-02"] * 4


# --- Back-office -------------------------------------------------------------------------------------------


def _changelist() -> str:
    return reverse("admin:contrats_contrat_changelist")


def _action(contrat, **extra) -> dict:
    return {"action": "renouveler", "_selected_action": [str(contrat.pk)], "index": "0", **extra}


def test_the_renew_action_confirms_then_renews(client, editeur):
    source = cdie()
    client.force_login(editeur)
    actions = dict(client.get(_changelist()).context["action_form"].fields["action"].choices)
    assert actions["renouveler"] == "Renouveler (CDIE de l'année suivante)…"
    response = client.post(_changelist(), _action(source))
    assert response.status_code == 200
    page = response.content.decode()
    assert response.context["title"] == "Renouveler des CDIE pour l'année suivante"
    assert "CDIE-2024-D05" in page and "au statut « proposée »" in page
    assert not Contrat.objects.filter(reference="CDIE-2025-D05").exists()  # nothing before confirmation

    response = client.post(_changelist(), _action(source, post="yes"), follow=True)
    assert response.status_code == 200
    assert "1 CDIE renouvelé(s)" in response.content.decode()
    nouveau = Contrat.objects.get(reference="CDIE-2025-D05")
    assert nouveau.contrat_precedent == source
    assert set(nouveau.history.values_list("history_user", flat=True)) == {editeur.pk}


def test_the_renew_action_reports_a_refusal(client, editeur):
    source = cdie(statut=StatutContrat.EN_NEGOCIATION)
    client.force_login(editeur)
    response = client.post(_changelist(), _action(source, post="yes"), follow=True)
    assert "Seul un CDIE signé, en exécution ou clos se renouvelle" in response.content.decode()
    assert not Contrat.objects.filter(reference="CDIE-2025-D05").exists()


def test_the_renew_action_is_for_editors_of_the_territory(client, lecteur, autre_territoire):
    source = cdie()
    client.force_login(lecteur)
    response = client.get(_changelist())
    assert response.context["action_form"] is None  # a reader is offered no action at all
    client.post(_changelist(), _action(source, post="yes"))
    client.force_login(autre_territoire)
    client.post(_changelist(), _action(source, post="yes"))
    assert not Contrat.objects.filter(reference="CDIE-2025-D05").exists()

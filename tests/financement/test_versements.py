"""Payments go to a beneficiary (docs/regles.md, Versements): the collectivité, or, for a pacte local,
the partner that carries the action, with its SIRET. ``financement.services.versement_save`` decides
(``beneficiaire_errors``); the back-office offers the contract's possible beneficiaries, within the
user's perimeter."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from actions.enums import StatutFiche
from contrats.enums import TypeContrat
from contrats.models import RegleTypeContrat
from financement.enums import DecisionReliquat, NatureVersement, StatutRapport, StatutVersement, TypeFinanceur
from financement.models import RapportAnnuel, Reliquat, Versement
from financement.services import (
    reliquat_decide,
    reliquat_settle,
    versement_create,
    versement_plafond_errors,
    versement_save,
    versement_solde_errors,
    versement_transition,
)
from pacte.enums import TypeOrganisation
from pacte.models import Organisation
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    UserFactory,
    VersementFactory,
    VoletFactory,
    collectivite,
    departement,
)
from tests.financement.test_cofinancement_types import CIBLES, contrat_pour, valider_puis_signer
from tests.test_admin import as_post_data

pytestmark = pytest.mark.django_db

D = Decimal
SIRET_CAF = "73282932000074"
SIRET_CD05 = "22050001700011"
SIRET_ASSO = "77282932000070"
SIRET_CD69 = "44400000000018"


def partenaire(nom: str, siret: str = "", dep: str = "05") -> Organisation:
    return OrganisationFactory(nom=nom, type=TypeOrganisation.PARTENAIRE, departement=departement(dep), siret=siret)


@pytest.fixture
def organisations(db):
    """Who might be paid: carriers with and without a SIRET, a partner carrying nothing, the collectivités'
    own organisations, a State service carrying an action."""
    orgs = {
        "caf": partenaire("CAF des Hautes-Alpes", SIRET_CAF),
        "asso-sans-siret": partenaire("Association Le Relais"),
        "asso-siret-faux": partenaire("Association Trait d'union"),
        "non-porteur": partenaire("Mission locale du Briançonnais", SIRET_ASSO),
        "cd05": OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05"), siret=SIRET_CD05),
        "cd05-sans-siret": OrganisationFactory(
            de_collectivite=True, collectivite=collectivite("D05"), nom="Département des Hautes-Alpes – solidarités"
        ),
        "cd69": OrganisationFactory(de_collectivite=True, collectivite=collectivite("D69"), siret=SIRET_CD69),
        "ddets": OrganisationFactory(ddets=True, departement=departement("05")),
    }
    # A SIRET stored before the checksum was checked (an import, old data): the payment still refuses it.
    Organisation.objects.filter(pk=orgs["asso-siret-faux"].pk).update(siret="12345678901234")
    orgs["asso-siret-faux"].refresh_from_db()
    return orgs


def contrat_signe(type_contrat: str, organisations, reference: str):
    """A signed contract of the Hautes-Alpes whose actions are carried by the CAF, both associations, the
    Département and the DDETS (one abandoned)."""
    contrat = ContratFactory(
        type_contrat=type_contrat, collectivite=collectivite("D05"), reference=reference, signe=True
    )
    porteurs = ["caf", "asso-sans-siret", "asso-siret-faux", "cd05", "ddets"]
    for i, cle in enumerate(porteurs, start=1):
        statut = StatutFiche.ABANDONNEE if cle == "asso-siret-faux" else StatutFiche.VALIDEE
        FicheActionFactory(contrat=contrat, code=f"A1-{i:02d}", porteur=organisations[cle], statut=statut)
    return contrat


def sans_siret(nom: str) -> str:
    return f"{nom} n'a pas de SIRET : renseignez-le sur sa fiche organisation avant de lui verser."


def non_porteur(nom: str, reference: str) -> str:
    return (
        f"{nom} ne porte aucune action du contrat {reference} : l'État ne verse qu'à la collectivité signataire "
        "ou aux porteurs de ses actions."
    )


def pas_aux_porteurs(nom: str, reference: str) -> str:
    return (
        f"Le contrat {reference} verse à la collectivité signataire, pas aux porteurs de ses actions : "
        f"{nom} ne peut pas recevoir ses versements."
    )


CPT, CLS = "CPT-2024-D05", "CLS-2024-D05"

BENEFICIAIRE_CASES = [
    # Pacte local: the State pays the carriers.
    pytest.param(TypeContrat.CPT, None, None, id="cpt/vide-la-collectivite"),
    pytest.param(TypeContrat.CPT, "caf", None, id="cpt/porteur-avec-siret"),
    pytest.param(TypeContrat.CPT, "cd05", None, id="cpt/organisation-de-la-collectivite"),
    pytest.param(TypeContrat.CPT, "asso-sans-siret", sans_siret("Association Le Relais"), id="cpt/porteur-sans-siret"),
    pytest.param(
        TypeContrat.CPT,
        "asso-siret-faux",
        "Le SIRET de Association Trait d'union (12345678901234) n'est pas valide : corrigez-le sur sa fiche "
        "organisation avant de lui verser.",
        id="cpt/porteur-d-une-action-abandonnee-au-siret-faux",
    ),
    pytest.param(
        TypeContrat.CPT,
        "non-porteur",
        non_porteur("Mission locale du Briançonnais", CPT),
        id="cpt/partenaire-qui-ne-porte-rien",
    ),
    pytest.param(
        TypeContrat.CPT,
        "cd05-sans-siret",
        sans_siret("Département des Hautes-Alpes – solidarités"),
        id="cpt/collectivite-sans-siret",
    ),
    pytest.param(
        TypeContrat.CPT,
        "cd69",
        non_porteur("Département du Rhône", CPT),
        id="cpt/une-autre-collectivite",
    ),
    pytest.param(
        TypeContrat.CPT,
        "ddets",
        "DDETS Hautes-Alpes est un service de l'État (DDETS (État, département)) : il ne reçoit pas les versements "
        "d'un contrat.",
        id="cpt/service-de-l-etat-porteur",
    ),
    # CLS: the State pays the collectivité only.
    pytest.param(TypeContrat.CLS_DEPARTEMENT, None, None, id="cls/vide-la-collectivite"),
    pytest.param(TypeContrat.CLS_DEPARTEMENT, "cd05", None, id="cls/organisation-de-la-collectivite"),
    pytest.param(
        TypeContrat.CLS_DEPARTEMENT, "caf", pas_aux_porteurs("CAF des Hautes-Alpes", CLS), id="cls/porteur-refuse"
    ),
    pytest.param(
        TypeContrat.CLS_DEPARTEMENT,
        "cd05-sans-siret",
        sans_siret("Département des Hautes-Alpes – solidarités"),
        id="cls/collectivite-sans-siret",
    ),
    pytest.param(
        TypeContrat.CLS_DEPARTEMENT, "cd69", pas_aux_porteurs("Département du Rhône", CLS), id="cls/autre-collectivite"
    ),
]


@pytest.mark.parametrize(("type_contrat", "cle", "expected"), BENEFICIAIRE_CASES)
def test_versement_beneficiaire(organisations, type_contrat, cle, expected):
    reference = CPT if type_contrat == TypeContrat.CPT else CLS
    contrat = contrat_signe(type_contrat, organisations, reference)
    beneficiaire = organisations[cle] if cle else None
    kwargs = {"annee": 2024, "nature": "avance", "montant": D("12000"), "beneficiaire": beneficiaire}
    if expected is None:
        versement = versement_create(contrat=contrat, **kwargs)
        versement.refresh_from_db()
        assert versement.beneficiaire == beneficiaire
        return
    with pytest.raises(ValidationError) as exc:
        versement_create(contrat=contrat, **kwargs)
    assert exc.value.message_dict == {"beneficiaire": [expected]}
    assert not Versement.objects.exists()


@pytest.mark.parametrize(
    ("cle", "expected"),
    [
        pytest.param("caf", "CAF des Hautes-Alpes", id="vers-le-porteur"),
        pytest.param("non-porteur", None, id="vers-un-partenaire-qui-ne-porte-rien"),
    ],
)
def test_changing_the_beneficiary_of_a_payment(organisations, cle, expected):
    """An existing payment follows the same rule; a refusal leaves it as it was."""
    contrat = contrat_signe(TypeContrat.CPT, organisations, CPT)
    versement = VersementFactory(contrat=contrat)
    versement.beneficiaire = organisations[cle]
    if expected:
        versement_save(versement=versement, version=versement.version)
        assert Versement.objects.get().beneficiaire.nom == expected
        return
    with pytest.raises(ValidationError) as exc:
        versement_save(versement=versement, version=versement.version)
    assert exc.value.messages == [non_porteur("Mission locale du Briançonnais", CPT)]
    assert Versement.objects.get().beneficiaire is None


@pytest.mark.parametrize(("versement_aux_porteurs", "ok"), [(True, True), (False, False)])
def test_the_contract_type_rule_decides(organisations, versement_aux_porteurs, ok):
    """``RegleTypeContrat.versement_aux_porteurs`` is read, not the type's name: an administrator may open or
    close payments to the carriers."""
    RegleTypeContrat.objects.filter(type_contrat=TypeContrat.CLS_DEPARTEMENT).update(
        versement_aux_porteurs=versement_aux_porteurs
    )
    contrat = contrat_signe(TypeContrat.CLS_DEPARTEMENT, organisations, CLS)
    kwargs = {"annee": 2024, "nature": "avance", "montant": D("1000"), "beneficiaire": organisations["caf"]}
    if ok:
        assert versement_create(contrat=contrat, **kwargs).beneficiaire == organisations["caf"]
        return
    with pytest.raises(ValidationError, match="verse à la collectivité signataire, pas aux porteurs"):
        versement_create(contrat=contrat, **kwargs)


def test_the_state_pays_the_partner_of_a_signed_pacte_local():
    """The issue's check: a pacte local with State + partner money and nothing from the Département signs,
    then the State pays the partner that carries the action; the same payment on a signed CLS is refused."""
    cpt, fiche = contrat_pour(CIBLES["cpt-pacte-local"], {TypeFinanceur.ETAT: "12000", TypeFinanceur.AUTRE: "3000"})
    caf = fiche.porteur
    valider_puis_signer(cpt, fiche, [])
    versement = versement_create(
        contrat=cpt, annee=2024, nature="unique", montant=D("12000"), beneficiaire=caf, date_versement=date(2024, 6, 1)
    )
    assert (versement.beneficiaire, versement.montant) == (caf, D("12000.00"))
    cls = ContratFactory(reference="CLS-2024-D05", signe=True)
    FicheActionFactory(contrat=cls, code="A1-01", porteur=caf, validee=True)
    with pytest.raises(ValidationError) as exc:
        versement_create(contrat=cls, annee=2024, nature="unique", montant=D("12000"), beneficiaire=caf)
    assert exc.value.messages == [pas_aux_porteurs(caf.nom, "CLS-2024-D05")]


# --- Back-office: the field, its choices within the perimeter, the service's refusals -----------------------


@pytest.fixture
def cpt_05(organisations):
    contrat = contrat_signe(TypeContrat.CPT, organisations, CPT)
    # A carrier of the Rhône: outside the perimeter of the Hautes-Alpes' DDETS, never offered to it.
    FicheActionFactory(contrat=contrat, code="A1-09", porteur=partenaire("CAF du Rhône", SIRET_ASSO, dep="69"))
    return contrat


def choix(response, model=Versement) -> set[str]:
    """The names offered by the ``beneficiaire`` select of the page's main form or of its inline of ``model``."""
    if response.context["adminform"].form._meta.model is model:
        field = response.context["adminform"].form.fields["beneficiaire"]
    else:
        inline = next(i for i in response.context["inline_admin_formsets"] if i.formset.model is model)
        field = inline.formset.empty_form.fields["beneficiaire"]
    return {obj.nom for obj in field.queryset}


def test_the_contract_page_offers_its_carriers_within_the_perimeter(client, editeur, cpt_05, organisations):
    client.force_login(editeur)
    response = client.get(reverse("admin:contrats_contrat_change", args=[cpt_05.pk]))
    assert response.status_code == 200
    assert choix(response) == {
        "CAF des Hautes-Alpes",
        "Association Le Relais",
        "Association Trait d'union",
        organisations["cd05"].nom,
        "Département des Hautes-Alpes – solidarités",
    }


def test_a_cls_page_offers_the_collectivite_only(client, editeur, organisations):
    contrat = contrat_signe(TypeContrat.CLS_DEPARTEMENT, organisations, CLS)
    client.force_login(editeur)
    response = client.get(reverse("admin:contrats_contrat_change", args=[contrat.pk]))
    assert choix(response) == {organisations["cd05"].nom, "Département des Hautes-Alpes – solidarités"}


def test_a_payment_page_offers_its_contract_carriers(client, editeur, cpt_05, organisations):
    versement = VersementFactory(contrat=cpt_05)
    client.force_login(editeur)
    response = client.get(reverse("admin:financement_versement_change", args=[versement.pk]))
    assert "Mission locale du Briançonnais" not in choix(response)
    assert "CAF des Hautes-Alpes" in choix(response)
    add = client.get(reverse("admin:financement_versement_add"))
    # Before the contract is chosen: the partners and collectivités of the perimeter, never a State service.
    assert {"CAF des Hautes-Alpes", "Mission locale du Briançonnais", organisations["cd05"].nom} <= choix(add)
    assert not {"CAF du Rhône", "DDETS Hautes-Alpes", "Département du Rhône"} & choix(add)


@pytest.mark.parametrize(
    ("cle", "expected"),
    [
        pytest.param("caf", None, id="porteur"),
        pytest.param("", None, id="vide"),
        pytest.param("non-porteur", non_porteur("Mission locale du Briançonnais", CPT), id="non-porteur"),
        pytest.param("asso-sans-siret", sans_siret("Association Le Relais"), id="sans-siret"),
    ],
)
def test_recording_a_payment_in_the_back_office(client, editeur, cpt_05, organisations, cle, expected):
    client.force_login(editeur)
    data = {
        "contrat": cpt_05.pk,
        "annee": 2024,
        "nature": "avance",
        "montant": "12 000,00",
        "beneficiaire": organisations[cle].pk if cle else "",
        "numero_ej": "2100123456",
    }
    response = client.post(reverse("admin:financement_versement_add"), data)
    if expected is None:
        assert response.status_code == 302
        assert Versement.objects.get().beneficiaire == (organisations[cle] if cle else None)
        return
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"beneficiaire": [expected]}
    assert not Versement.objects.exists()


def test_a_payment_on_the_contract_page_goes_to_the_carrier(client, editeur, cpt_05, organisations):
    client.force_login(editeur)
    page = reverse("admin:contrats_contrat_change", args=[cpt_05.pk])
    data = as_post_data(client.get(page))
    data.update(
        {
            "versements-TOTAL_FORMS": "1",
            "versements-0-annee": "2024",
            "versements-0-nature": "avance",
            "versements-0-montant": "5 000,00",
            "versements-0-beneficiaire": organisations["caf"].pk,
        }
    )
    assert client.post(page, data).status_code == 302
    assert Versement.objects.get().beneficiaire == organisations["caf"]


def test_the_payment_list_names_the_beneficiary(client, editeur, cpt_05, organisations):
    VersementFactory(contrat=cpt_05, beneficiaire=organisations["caf"], numero_ej="2100000001")
    VersementFactory(contrat=cpt_05, numero_ej="2100000002")
    client.force_login(UserFactory(organisation=editeur.organisation, lecteur=True))
    html = client.get(reverse("admin:financement_versement_changelist")).content.decode()
    assert "CAF des Hautes-Alpes" in html
    assert "Département des Hautes-Alpes (collectivité)" in html


# --- Statuses and money checks (docs/regles.md, Versements: statut, enveloppe, solde, déduction) --------------

AVANCE, SOLDE, UNIQUE = NatureVersement.AVANCE, NatureVersement.SOLDE, NatureVersement.UNIQUE
PREVU, DEMANDE, VERSE = StatutVersement.PREVU, StatutVersement.DEMANDE, StatutVersement.VERSE
EJ = "2100123456"


def plafond_depasse(annee, total, plafond, ecart) -> str:
    return (
        f"{annee} : avec ce versement, les versements demandés ou payés ({total}) dépasseraient l'enveloppe "
        f"annuelle de l'État ({plafond}) de {ecart}."
    )


def deduction_depassee(annee, total, plafond, deduction, limite, ecart) -> str:
    return (
        f"{annee} : avec ce versement, les versements demandés ou payés ({total}) dépasseraient ce qui reste à "
        f"verser, l'enveloppe ({plafond}) moins le reliquat {annee - 1} déduit ({deduction}), soit {limite}, "
        f"de {ecart}."
    )


def eur(text: str) -> str:
    """Amounts of ``text`` (``"80 000,00 €"``) written with the non-breaking spaces of ``format_euros``."""
    return re.sub(r"(?<=[0-9]) (?=[0-9]{3})", "\u00a0", text).replace(" €", "\u00a0€")


@pytest.mark.parametrize(
    ("montant", "autres", "plafond", "deduction", "expected"),
    [
        pytest.param("40000", "40000", "80000", "0", [], id="exactly-the-ceiling"),
        pytest.param(
            "40000.01",
            "40000",
            "80000",
            "0",
            [plafond_depasse(2025, "80 000,01 €", "80 000,00 €", "0,01 €")],
            id="one-cent-over",
        ),
        pytest.param("80000", "0", "80000", "0", [], id="one-payment-of-the-whole-ceiling"),
        pytest.param("0.01", "0", "0", "0", [plafond_depasse(2025, "0,01 €", "0,00 €", "0,01 €")], id="zero-ceiling"),
        pytest.param("78000", "0", "80000", "2000", [], id="advance-reduced-by-the-deduction-exactly"),
        pytest.param(
            "78000.01",
            "0",
            "80000",
            "2000",
            [deduction_depassee(2025, "78 000,01 €", "80 000,00 €", "2 000,00 €", "78 000,00 €", "0,01 €")],
            id="advance-one-cent-over-the-deduction",
        ),
        pytest.param(
            "40000",
            "39000",
            "80000",
            "2000",
            [deduction_depassee(2025, "79 000,00 €", "80 000,00 €", "2 000,00 €", "78 000,00 €", "1 000,00 €")],
            id="balance-after-an-advance-paid-before-the-decision",
        ),
        pytest.param(
            "1",
            "0",
            None,
            "0",
            [
                "Aucune enveloppe de l'État n'est fixée pour 2025 : rien ne peut être demandé ni versé au titre de cet "
                "exercice."
            ],
            id="no-ceiling",
        ),
    ],
)
def test_versement_plafond_errors(montant, autres, plafond, deduction, expected):
    errors = versement_plafond_errors(
        annee=2025,
        montant=D(montant),
        autres=D(autres),
        plafond=None if plafond is None else D(plafond),
        deduction=D(deduction),
    )
    assert errors == [eur(e) for e in expected]


@pytest.mark.parametrize(
    ("autres", "plafond", "expected"),
    [
        pytest.param("80000", "80000", [], id="at-the-ceiling"),
        pytest.param("0", None, [], id="nothing-without-a-ceiling"),
        pytest.param(
            "80000.01",
            "80000",
            [
                "2025 : les versements demandés ou payés (80 000,01 €) dépassent l'enveloppe annuelle de l'État "
                "(80 000,00 €) de 0,01 €."
            ],
            id="over",
        ),
        pytest.param(
            "5",
            None,
            ["Aucune enveloppe de l'État n'est fixée pour 2025 : 5,00 € sont pourtant demandés ou payés."],
            id="paid-without-a-ceiling",
        ),
    ],
)
def test_versement_plafond_finding(autres, plafond, expected):
    """The same rule, as the money page states it about the payments in place."""
    errors = versement_plafond_errors(
        annee=2025, montant=D("0"), autres=D(autres), plafond=plafond and D(plafond), ce_versement=False
    )
    assert errors == [eur(e) for e in expected]


@pytest.mark.parametrize(
    ("nature", "statut_rapport", "expected"),
    [
        (AVANCE, None, None),
        (UNIQUE, StatutRapport.BROUILLON, None),
        (SOLDE, StatutRapport.VALIDE, None),
        (SOLDE, None, "n'est pas encore ouvert"),
        (SOLDE, StatutRapport.BROUILLON, "est « En rédaction (collectivité) »"),
        (SOLDE, StatutRapport.TRANSMIS, "est « Transmis à la DDETS »"),
        (SOLDE, StatutRapport.A_COMPLETER, "est « Renvoyé pour compléments »"),
    ],
)
def test_versement_solde_errors(nature, statut_rapport, expected):
    errors = versement_solde_errors(annee=2024, nature=nature, statut_rapport=statut_rapport)
    if expected is None:
        assert errors == []
    else:
        assert errors == [
            f"Le solde 2024 se demande une fois le rapport annuel d'exécution 2024 validé par la DDETS (il {expected})."
        ]


@pytest.fixture
def cls(db):
    """A signed CLS of the Hautes-Alpes with 80 000 € State ceilings in 2024 and 2025."""
    contrat = ContratFactory(collectivite=collectivite("D05"), reference=CLS, signe=True)
    for annee in (2024, 2025):
        PlafondFactory(contrat=contrat, annee=annee, montant=D("80000"))
    return contrat


def planifier(contrat, montant, *, annee=2025, nature=AVANCE, ej=EJ):
    return versement_create(contrat=contrat, annee=annee, nature=nature, montant=D(montant), numero_ej=ej)


def demander(versement, le=date(2025, 3, 1)):
    return versement_transition(versement=versement, to=DEMANDE, date_action=le, version=versement.version)


def payer(versement, le=date(2025, 4, 1)):
    return versement_transition(versement=versement, to=VERSE, date_action=le, version=versement.version)


def refus(callable_, *args, **kwargs) -> dict | list:
    with pytest.raises(ValidationError) as exc:
        callable_(*args, **kwargs)
    error = exc.value
    return error.message_dict if hasattr(error, "error_dict") else error.messages


def rapport(contrat, annee, statut):
    return RapportAnnuel.objects.create(contrat=contrat, annee=annee, statut=statut, date_limite=date(annee + 1, 3, 31))


def test_the_status_journey_planned_requested_paid(cls, editeur):
    versement = planifier(cls, "40000")
    assert (versement.statut, versement.date_demande, versement.date_versement) == (PREVU, None, None)
    versement = demander(versement)
    assert (versement.statut, versement.date_demande) == (DEMANDE, date(2025, 3, 1))
    versement = payer(versement)
    versement.refresh_from_db()
    assert (versement.statut, versement.date_demande, versement.date_versement) == (
        VERSE,
        date(2025, 3, 1),
        date(2025, 4, 1),
    )
    assert list(Versement.objects.payes()) == [versement]
    assert versement.history.count() == 3


@pytest.mark.parametrize(
    ("depuis", "vers", "expected"),
    [
        (PREVU, VERSE, "ne peut pas passer de « Prévu » à « Versé »"),
        (VERSE, DEMANDE, "ne peut pas passer de « Versé » à « Demandé »"),
        (VERSE, PREVU, "ne peut pas passer de « Versé » à « Prévu »"),
        (PREVU, "paye", "Statut de versement inconnu : « paye »."),
    ],
)
def test_transitions_not_written_are_refused(cls, depuis, vers, expected):
    versement = planifier(cls, "10000")
    if depuis == VERSE:
        versement = payer(demander(versement))
    before = Versement.objects.values().get()
    messages = refus(versement_transition, versement=versement, to=vers, date_action=date(2025, 5, 1))
    assert expected in " ".join(messages if isinstance(messages, list) else sum(messages.values(), []))
    assert Versement.objects.values().get() == before


def test_a_request_withdrawn_is_planned_again_and_forgets_its_date(cls):
    versement = versement_transition(versement=demander(planifier(cls, "10000")), to=PREVU)
    versement.refresh_from_db()
    assert (versement.statut, versement.date_demande) == (PREVU, None)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        pytest.param(
            lambda v: versement_transition(versement=v, to=VERSE),
            {"date_versement": ["Indiquez la date du versement : un versement payé est daté."]},
            id="paid-without-a-date",
        ),
        pytest.param(
            lambda v: versement_transition(versement=v, to=VERSE, date_action=timezone.localdate() + timedelta(days=1)),
            {"date_versement": ["La date de versement ne peut pas être dans le futur."]},
            id="paid-in-the-future",
        ),
        pytest.param(
            lambda v: versement_transition(versement=v, to=VERSE, date_action=date(2025, 2, 28)),
            {"date_versement": ["Le versement ne peut pas précéder sa demande (01/03/2025)."]},
            id="paid-before-its-request",
        ),
    ],
)
def test_a_paid_payment_is_dated(cls, action, expected):
    versement = demander(planifier(cls, "10000"))
    assert refus(action, versement) == expected
    assert Versement.objects.get().statut == DEMANDE


def test_a_request_carries_the_chorus_commitment(cls):
    versement = planifier(cls, "10000", ej="")
    assert refus(demander, versement) == {
        "numero_ej": ["Une demande de paiement porte le numéro d'engagement juridique Chorus : renseignez-le d'abord."]
    }
    assert Versement.objects.get().statut == PREVU


def test_a_request_does_not_precede_the_legal_commitment(cls):
    versement = planifier(cls, "10000")
    versement.date_engagement = date(2025, 3, 10)
    versement = versement_save(versement=versement, version=versement.version)
    assert refus(demander, versement) == {
        "date_demande": ["La demande de paiement ne peut pas précéder l'engagement juridique (10/03/2025)."]
    }


def test_a_planned_payment_has_no_date_of_payment(cls):
    versement = planifier(cls, "10000")
    versement.date_versement = date(2025, 4, 1)
    assert refus(versement_save, versement=versement, version=versement.version) == {
        "date_versement": [
            "Un versement prévu ou demandé n'a pas encore de date de versement : elle s'indique quand il est versé."
        ]
    }


def test_a_payment_recorded_with_its_date_is_paid_and_checked(cls):
    """Recording afterwards a payment already made (the back-office, an old payment): « versé », within the ceiling."""
    versement = versement_create(
        contrat=cls, annee=2024, nature=UNIQUE, montant=D("80000"), date_versement=date(2024, 6, 1)
    )
    assert versement.statut == VERSE
    assert refus(
        versement_create, contrat=cls, annee=2024, nature=UNIQUE, montant=D("0.01"), date_versement=date(2024, 7, 1)
    ) == [eur(plafond_depasse(2024, "80 000,01 €", "80 000,00 €", "0,01 €"))]
    assert Versement.objects.count() == 1


@pytest.mark.parametrize(
    ("solde", "ok"), [pytest.param("40000", True, id="exactly"), pytest.param("40000.01", False, id="one-cent-over")]
)
def test_the_year_requested_or_paid_within_its_ceiling(cls, solde, ok):
    """Advance paid, balance requested: together at most the ceiling; planned payments do not count."""
    rapport(cls, 2025, StatutRapport.VALIDE)
    payer(demander(planifier(cls, "40000")))
    planifier(cls, "99999", nature=UNIQUE)  # planned: counts for nothing until requested
    balance = planifier(cls, solde, nature=SOLDE)
    if ok:
        assert demander(balance).statut == DEMANDE
        return
    assert refus(demander, balance) == [eur(plafond_depasse(2025, "80 000,01 €", "80 000,00 €", "0,01 €"))]
    assert Versement.objects.get(pk=balance.pk).statut == PREVU


def test_other_years_and_contracts_do_not_count(cls):
    payer(demander(planifier(cls, "80000", annee=2024), le=date(2024, 3, 1)), le=date(2024, 4, 1))
    autre = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-X05", signe=True)
    PlafondFactory(contrat=autre, annee=2025, montant=D("80000"))
    demander(planifier(autre, "80000"))
    assert demander(planifier(cls, "80000")).statut == DEMANDE


def test_volets_ceilings_add_up_without_a_contract_ceiling(db):
    cdie = ContratFactory(collectivite=collectivite("D05"), cdie=True, reference="CDIE-2024-D05", signe=True)
    for numero, montant in ((1, "30000"), (2, "20000")):
        PlafondFactory(contrat=cdie, volet=VoletFactory(contrat=cdie, numero=numero), annee=2024, montant=D(montant))
    assert demander(planifier(cdie, "50000", annee=2024, nature=UNIQUE), le=date(2024, 3, 1)).statut == DEMANDE
    assert refus(demander, planifier(cdie, "0.01", annee=2024, nature=UNIQUE), le=date(2024, 3, 1)) == [
        eur(plafond_depasse(2024, "50 000,01 €", "50 000,00 €", "0,01 €"))
    ]


@pytest.mark.parametrize(
    ("statut_rapport", "ok"),
    [
        (None, False),
        (StatutRapport.BROUILLON, False),
        (StatutRapport.TRANSMIS, False),
        (StatutRapport.A_COMPLETER, False),
        (StatutRapport.VALIDE, True),
    ],
)
def test_a_balance_once_the_report_is_validated(cls, statut_rapport, ok):
    if statut_rapport:
        rapport(cls, 2025, statut_rapport)
    rapport(cls, 2024, StatutRapport.VALIDE)  # another year's validated report does not open this balance
    balance = planifier(cls, "10000", nature=SOLDE)  # a balance may be planned at any time
    if ok:
        assert payer(demander(balance)).statut == VERSE
        return
    messages = refus(demander, balance)
    assert len(messages) == 1 and messages[0].startswith(
        "Le solde 2025 se demande une fois le rapport annuel d'exécution 2025 validé par la DDETS"
    )
    assert Versement.objects.get().statut == PREVU


def deduire(contrat, montant="2000", annee=2024):
    return Reliquat.objects.create(
        contrat=contrat,
        annee=annee,
        verse=D("10000"),
        realise_etat=D("10000") - D(montant),
        montant=D(montant),
        decision=DecisionReliquat.DEDUCTION,
        decide_le=date(2025, 2, 1),
    )


@pytest.mark.parametrize(
    ("decision", "avance", "ok"),
    [
        pytest.param(DecisionReliquat.DEDUCTION, "78000", True, id="deduction/exactly-what-remains"),
        pytest.param(DecisionReliquat.DEDUCTION, "78000.01", False, id="deduction/one-cent-over"),
        pytest.param(DecisionReliquat.REVERSEMENT, "80000", True, id="reclaimed/the-whole-ceiling"),
        pytest.param("", "80000", True, id="undecided/the-whole-ceiling"),
    ],
)
def test_next_year_advance_reduced_by_a_reliquat_deducted(cls, decision, avance, ok):
    reliquat = deduire(cls)
    Reliquat.objects.filter(pk=reliquat.pk).update(decision=decision)
    versement = planifier(cls, avance)
    if ok:
        assert demander(versement).statut == DEMANDE
        return
    assert refus(demander, versement) == [
        eur(deduction_depassee(2025, "78 000,01 €", "80 000,00 €", "2 000,00 €", "78 000,00 €", "0,01 €"))
    ]


def test_a_change_that_adds_no_money_is_not_checked_again(cls):
    """A payment recorded before the ceiling was lowered stays correctable: a smaller amount, its number; more
    money is refused."""
    versement = payer(demander(planifier(cls, "80000")))
    cls.plafonds.filter(annee=2025).update(montant=D("50000"))
    versement.numero_ej = "2100999999"
    versement.montant = D("60000")
    versement = versement_save(versement=versement, version=versement.version)
    versement.montant = D("60000.01")
    assert refus(versement_save, versement=versement, version=versement.version) == [
        eur(plafond_depasse(2025, "60 000,01 €", "50 000,00 €", "10 000,01 €"))
    ]
    assert Versement.objects.get().montant == D("60000")


def test_a_row_written_outside_the_services_keeps_working(cls):
    """A dated row without status (the demo's bulk load, an import) counts as paid by its date and is edited
    without being refused for it."""
    legacy = VersementFactory(contrat=cls, annee=2025, montant=D("80000"), date_versement=date(2025, 6, 1))
    assert legacy.statut == PREVU and list(Versement.objects.payes()) == [legacy]
    legacy.numero_ej = "2100000042"
    versement_save(versement=legacy, version=legacy.version)
    assert refus(demander, planifier(cls, "0.01")) == [
        eur(plafond_depasse(2025, "80 000,01 €", "80 000,00 €", "0,01 €"))
    ]


def test_the_migration_marks_dated_payments_paid(cls):
    from importlib import import_module

    from django.apps import apps

    dated = VersementFactory(contrat=cls, annee=2024, montant=D("1000"), date_versement=date(2024, 6, 1))
    planned = VersementFactory(contrat=cls, annee=2024, montant=D("1000"), date_versement=None)
    import_module("financement.migrations.0010_versements_statut").statut_des_versements_dates(apps, None)
    assert dict(Versement.objects.values_list("pk", "statut")) == {dated.pk: VERSE, planned.pk: PREVU}


# --- Reliquats: deducted only while the next year's payments leave room; decided on the amount shown ----------


def reliquat_2024(contrat, verse="10000", realise="8000"):
    payer(demander(planifier(contrat, verse, annee=2024), le=date(2024, 3, 1)), le=date(2024, 4, 1))
    fiche = FicheActionFactory(contrat=contrat, code="A1-01", validee=True)
    LigneFinancementFactory(
        fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT, prevu=D(verse), realise=D(realise)
    )
    return fiche


@pytest.mark.parametrize(
    ("deja", "ok"),
    [pytest.param("78000", True, id="room-exactly"), pytest.param("78000.01", False, id="one-cent-short")],
)
def test_a_deduction_needs_room_next_year(cls, editeur, deja, ok):
    reliquat_2024(cls)  # reliquat 2024: 2 000 €
    demander(planifier(cls, deja))
    if ok:
        reliquat = reliquat_settle(contrat=cls, annee=2024, decision=DecisionReliquat.DEDUCTION, by=editeur)
        assert (reliquat.montant, reliquat.decision) == (D("2000"), DecisionReliquat.DEDUCTION)
        return
    assert refus(reliquat_settle, contrat=cls, annee=2024, decision=DecisionReliquat.DEDUCTION, by=editeur) == {
        "decision": [
            eur(
                "Les versements 2025 déjà demandés ou payés (78 000,01 €) ne laissent que 1 999,99 € sous l'enveloppe "
                "2025 (80 000,00 €) : le reliquat de 2 000,00 € ne peut plus en être déduit. Émettez un titre de "
                "reversement."
            )
        ]
    }
    assert not Reliquat.objects.exists()  # nothing written, the computation neither
    assert reliquat_settle(contrat=cls, annee=2024, decision=DecisionReliquat.REVERSEMENT, by=editeur).decision


def test_a_decision_is_taken_on_the_amount_shown(cls, editeur):
    fiche = reliquat_2024(cls)
    fiche.financements.filter(annee=2024).update(realise=D("9000"))  # spent changed after the page was shown
    assert refus(
        reliquat_settle, contrat=cls, annee=2024, decision=DecisionReliquat.REVERSEMENT, by=editeur, montant=D("2000")
    ) == [
        eur(
            "Le reliquat 2024 a changé pendant votre saisie (2 000,00 € → 1 000,00 €) : rien n'a été enregistré. "
            "Vérifiez-le et décidez de nouveau."
        )
    ]
    assert not Reliquat.objects.exists()
    reliquat = reliquat_settle(
        contrat=cls, annee=2024, decision=DecisionReliquat.REVERSEMENT, by=editeur, montant=D("1000")
    )
    assert (reliquat.montant, reliquat.decide_par) == (D("1000"), editeur)
    # Deciding again through reliquat_decide stays possible; the check of room applies there too.
    assert reliquat_decide(reliquat=reliquat, decision=DecisionReliquat.DEDUCTION, by=editeur).decision == "deduction"

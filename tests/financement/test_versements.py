"""Payments go to a beneficiary (docs/regles.md, Versements): the collectivité, or, for a pacte local,
the partner that carries the action, with its SIRET. ``financement.services.versement_save`` decides
(``beneficiaire_errors``); the back-office offers the contract's possible beneficiaries, within the
user's perimeter."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from actions.enums import StatutFiche
from contrats.enums import TypeContrat
from contrats.models import RegleTypeContrat
from financement.enums import TypeFinanceur
from financement.models import Versement
from financement.services import versement_create, versement_save
from pacte.enums import TypeOrganisation
from pacte.models import Organisation
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    OrganisationFactory,
    UserFactory,
    VersementFactory,
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

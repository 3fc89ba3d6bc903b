"""Partner commitments (docs/regles.md, Engagements des partenaires): what each partner brings to a contract
for a year — money, staff, in kind. Written by ``contrats.services.engagement_partenaire_save`` / ``_delete``
(contractual: frozen by the signature), shown and edited on the contract's page in the back-office."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.urls import reverse

from contrats.enums import StatutContrat
from contrats.models import Contrat, EngagementPartenaire
from contrats.services import engagement_partenaire_delete, engagement_partenaire_save
from pacte.enums import TypeOrganisation
from pacte.models import Organisation
from pacte.services import ConflictError
from tests.factories import ContratFactory, OrganisationFactory, UserFactory, collectivite, departement
from tests.test_admin import as_post_data, errors

pytestmark = pytest.mark.django_db

D = Decimal
FIGE = "Le contrat CLS-2024-D05 est signé : ses données contractuelles ne changent plus que par un avenant."
RIEN = "Un engagement dit ce que le partenaire apporte : un montant, du personnel (ETP) ou un apport en nature."


@pytest.fixture
def organisations(db):
    return {
        "caf-05": OrganisationFactory(nom="CAF des Hautes-Alpes", departement=departement("05")),
        "national": OrganisationFactory(nom="Fondation nationale"),  # a partner without département
        "caf-69": OrganisationFactory(nom="CAF du Rhône", departement=departement("69")),
        "cd05": OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05")),
        "cd69": OrganisationFactory(de_collectivite=True, collectivite=collectivite("D69")),
        "ddets-05": OrganisationFactory(ddets=True, departement=departement("05")),
    }


def engagement(contrat, organisation, **fields) -> EngagementPartenaire:
    return EngagementPartenaire(contrat=contrat, organisation=organisation, **({"annee": 2024} | fields))


@pytest.mark.parametrize(
    ("cle", "par", "fields", "expected"),
    [
        pytest.param("caf-05", "editeur", {"montant": D("15000")}, None, id="partenaire-du-departement"),
        pytest.param("national", "editeur", {"montant": D("1")}, None, id="partenaire-national"),
        pytest.param("cd05", "editeur", {"etp": D("0.5")}, None, id="la-collectivite-signataire-du-personnel"),
        pytest.param("caf-05", "editeur", {"en_nature": "Locaux à Gap"}, None, id="en-nature-seulement"),
        pytest.param("caf-05", None, {"montant": D("1"), "annee": 2027}, None, id="derniere-annee-du-contrat"),
        pytest.param(
            "caf-69",
            "editeur",
            {"montant": D("1")},
            {"organisation": ["Cette organisation n'est pas dans votre périmètre."]},
            id="hors-perimetre",
        ),
        pytest.param(
            "cd69",
            "editeur",
            {"montant": D("1")},
            {"organisation": ["Cette organisation n'est pas dans votre périmètre."]},
            id="autre-collectivite-hors-perimetre",
        ),
        pytest.param(
            "cd69",
            None,
            {"montant": D("1")},
            {
                "organisation": [
                    "Département du Rhône (Collectivité (conseil départemental, métropole)) n'est pas un partenaire : "
                    "seuls les partenaires et la collectivité signataire prennent des engagements au contrat."
                ]
            },
            id="autre-collectivite",
        ),
        pytest.param(
            "ddets-05",
            "editeur",
            {"montant": D("1")},
            {
                "organisation": [
                    "DDETS Hautes-Alpes (DDETS (État, département)) n'est pas un partenaire : seuls les partenaires "
                    "et la collectivité signataire prennent des engagements au contrat."
                ]
            },
            id="service-de-l-etat",
        ),
        pytest.param(
            "caf-05",
            "editeur",
            {"montant": D("1"), "annee": 2023},
            {"annee": ["2023 est hors de la période du contrat CLS-2024-D05 (2024-2027)."]},
            id="annee-avant",
        ),
        pytest.param(
            "caf-05",
            "editeur",
            {"montant": D("1"), "annee": 2028},
            {"annee": ["2028 est hors de la période du contrat CLS-2024-D05 (2024-2027)."]},
            id="annee-apres",
        ),
        pytest.param("caf-05", "editeur", {}, {NON_FIELD_ERRORS: [RIEN]}, id="rien"),
        pytest.param(
            "caf-05",
            "editeur",
            {"montant": D("0"), "etp": D("0"), "en_nature": "  \n "},
            {NON_FIELD_ERRORS: [RIEN]},
            id="que-des-zeros-et-des-blancs",
        ),
        pytest.param(
            "caf-05",
            "editeur",
            {"montant": D("-1")},
            {"montant": ["Un montant ne peut pas être négatif."]},
            id="montant-negatif",
        ),
        pytest.param(
            "caf-05",
            "editeur",
            {"montant": 1500.5},
            {"montant": ["Saisissez un nombre décimal exact, jamais un flottant."]},
            id="montant-flottant",
        ),
        pytest.param(
            "caf-05",
            "editeur",
            {"montant": D("0.001")},
            {"montant": ["Assurez-vous qu’il n’y a pas plus de 2 chiffres après la virgule."]},
            id="montant-millieme",
        ),
        pytest.param(
            "caf-05",
            "editeur",
            {"etp": 0.5},
            {"etp": ["Saisissez un nombre décimal exact, jamais un flottant."]},
            id="etp-flottant",
        ),
        pytest.param(
            None,
            "editeur",
            {"montant": D("1")},
            {"organisation": ["Ce champ ne peut pas contenir la valeur nulle."]},
            id="sans-partenaire",
        ),
        pytest.param(
            "caf-05",
            "editeur",
            {"etp": D("-0.5")},
            {"etp": ["Assurez-vous que cette valeur est supérieure ou égale à 0."]},
            id="etp-negatifs",
        ),
    ],
)
def test_engagement_partenaire_save(editeur, contrat_05, organisations, cle, par, fields, expected):
    by = editeur if par == "editeur" else None
    nouveau = engagement(contrat_05, organisations[cle] if cle else None, **fields)
    if expected is None:
        engagement_partenaire_save(engagement_partenaire=nouveau, by=by)
        saved = EngagementPartenaire.objects.get()
        assert (saved.organisation, saved.annee, saved.version) == (nouveau.organisation, nouveau.annee, 0)
        assert saved.history.get().history_user == by
        return
    with pytest.raises(ValidationError) as exc:
        engagement_partenaire_save(engagement_partenaire=nouveau, by=by)
    assert exc.value.message_dict == expected
    assert not EngagementPartenaire.objects.exists()


def test_one_commitment_per_partner_and_year(editeur, contrat_05, organisations):
    caf = organisations["caf-05"]
    engagement_partenaire_save(engagement_partenaire=engagement(contrat_05, caf, montant=D("10")), by=editeur)
    engagement_partenaire_save(engagement_partenaire=engagement(contrat_05, caf, montant=D("10"), annee=2025))
    with pytest.raises(ValidationError) as exc:
        engagement_partenaire_save(engagement_partenaire=engagement(contrat_05, caf, etp=D("1")), by=editeur)
    assert exc.value.message_dict == {"annee": ["Ce partenaire a déjà un engagement pour cette année dans ce contrat."]}
    assert EngagementPartenaire.objects.count() == 2


@pytest.mark.parametrize("statut", [StatutContrat.SIGNE, StatutContrat.EN_EXECUTION, StatutContrat.CLOS])
@pytest.mark.parametrize("ecriture", ["creer", "modifier", "supprimer"])
def test_frozen_by_the_signature(editeur, contrat_05, organisations, statut, ecriture):
    """Contractual: once signed, a commitment no longer changes (the status is read again from the database,
    so a copy of the contract taken before the signature does not let a change through)."""
    existant = EngagementPartenaire.objects.create(contrat=contrat_05, organisation=organisations["caf-05"], annee=2024)
    Contrat.objects.filter(pk=contrat_05.pk).update(statut=statut, date_signature=date(2024, 3, 15))
    perime = EngagementPartenaire.objects.get(pk=existant.pk)
    perime.contrat = contrat_05  # the copy in memory, still "en négociation"
    with pytest.raises(ValidationError) as exc:
        if ecriture == "creer":
            nouveau = engagement(contrat_05, organisations["national"], montant=D("1"))
            engagement_partenaire_save(engagement_partenaire=nouveau, by=editeur)
        elif ecriture == "modifier":
            perime.montant = D("99")
            engagement_partenaire_save(engagement_partenaire=perime, by=editeur, version=perime.version)
        else:
            engagement_partenaire_delete(engagement_partenaire=perime, by=editeur, version=perime.version)
    label = StatutContrat(statut).label.lower()
    assert exc.value.messages == [FIGE.replace("signé", label)]
    assert list(EngagementPartenaire.objects.values_list("organisation__nom", "montant")) == [
        ("CAF des Hautes-Alpes", D("0.00"))
    ]


def test_change_delete_and_versions(editeur, contrat_05, organisations):
    saved = engagement_partenaire_save(
        engagement_partenaire=engagement(contrat_05, organisations["caf-05"], montant=D("100")), by=editeur
    )
    shown = saved.version
    saved.etp = D("1.5")
    engagement_partenaire_save(engagement_partenaire=saved, by=editeur, version=shown)
    stale = EngagementPartenaire.objects.get(pk=saved.pk)
    stale.montant = D("1")
    with pytest.raises(ConflictError, match="a été modifié"):
        engagement_partenaire_save(engagement_partenaire=stale, by=editeur, version=shown)
    with pytest.raises(ConflictError):
        engagement_partenaire_delete(engagement_partenaire=stale, by=editeur, version=shown)
    assert EngagementPartenaire.objects.values_list("montant", "etp").get() == (D("100.00"), D("1.50"))
    engagement_partenaire_delete(engagement_partenaire=stale, by=editeur, version=shown + 1)
    assert not EngagementPartenaire.objects.exists()


def test_a_commitment_does_not_move_to_another_contract(editeur, contrat_05, organisations):
    saved = engagement_partenaire_save(
        engagement_partenaire=engagement(contrat_05, organisations["caf-05"], montant=D("100")), by=editeur
    )
    saved.contrat = ContratFactory(reference="CLS-2025-D05")
    with pytest.raises(ValidationError) as exc:
        engagement_partenaire_save(engagement_partenaire=saved, by=editeur, version=saved.version)
    assert exc.value.messages == ["Un engagement ne change pas de contrat : supprimez-le et créez-en un autre."]
    assert EngagementPartenaire.objects.get().contrat == contrat_05


# --- On the contract's page --------------------------------------------------------------------------------


def page(contrat) -> str:
    return reverse("admin:contrats_contrat_change", args=[contrat.pk])


def inline(response):
    return next(i for i in response.context["inline_admin_formsets"] if i.formset.model is EngagementPartenaire)


def test_the_contract_page_holds_the_partners_commitments(client, editeur, lecteur, contrat_05, organisations):
    caf = organisations["caf-05"]
    client.force_login(editeur)
    response = client.get(page(contrat_05))
    offered = set(inline(response).formset.empty_form.fields["organisation"].queryset)
    # The partners of the perimeter (national ones included) and the collectivité's own organisation.
    assert offered == {caf, organisations["national"], organisations["cd05"]}
    data = as_post_data(response)
    row = {"organisation": caf.pk, "annee": "2024", "montant": "15 000,00", "etp": "0,5", "en_nature": "Locaux"}
    data.update({f"engagements-0-{k}": v for k, v in row.items()} | {"engagements-TOTAL_FORMS": "1"})
    assert client.post(page(contrat_05), data).status_code == 302
    saved = EngagementPartenaire.objects.get()
    assert (saved.organisation, saved.montant, saved.etp, saved.en_nature) == (caf, D("15000"), D("0.5"), "Locaux")
    assert saved.history.get().history_user == editeur

    # Nothing brought: the service's refusal is shown on the page, nothing saved.
    data = as_post_data(client.get(page(contrat_05)))
    row = {"organisation": caf.pk, "annee": "2025", "montant": "0", "etp": "", "en_nature": ""}
    data.update({f"engagements-1-{k}": v for k, v in row.items()} | {"engagements-TOTAL_FORMS": "2"})
    response = client.post(page(contrat_05), data)
    assert response.status_code == 200
    assert f"Nouvelle ligne : {RIEN}" in errors(response)
    # A State service, forged into the post, is not among the choices.
    data["engagements-1-organisation"] = organisations["ddets-05"].pk
    data["engagements-1-montant"] = "10"
    response = client.post(page(contrat_05), data)
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert EngagementPartenaire.objects.count() == 1

    # A reader sees the commitments, without a form to change them.
    client.force_login(lecteur)
    response = client.get(page(contrat_05))
    assert not inline(response).has_add_permission and not inline(response).has_change_permission
    assert "CAF des Hautes-Alpes" in response.content.decode()


def test_signed_the_commitments_are_read_only(client, editeur, organisations):
    contrat = ContratFactory(reference="CLS-2023-D05", signe=True)
    EngagementPartenaire.objects.create(contrat=contrat, organisation=organisations["caf-05"], annee=2024, etp=1)
    client.force_login(editeur)
    response = client.get(page(contrat))
    formset = inline(response)
    assert not (formset.has_add_permission or formset.has_change_permission or formset.has_delete_permission)


def test_the_partner_organisations_stay_in_the_perimeter_of_another_territory(client, contrat_05, organisations):
    """The Rhône's DDETS does not see the Hautes-Alpes' contract (404, as for every page) and is offered
    nothing of the Hautes-Alpes on its own contracts."""
    agent_69 = UserFactory(organisation=OrganisationFactory(ddets=True, departement=departement("69")))
    client.force_login(agent_69)
    assert client.get(page(contrat_05)).status_code == 404
    contrat_69 = ContratFactory(collectivite=collectivite("D69"), reference="CLS-2024-D69")
    offered = set(inline(client.get(page(contrat_69))).formset.empty_form.fields["organisation"].queryset)
    assert offered == {organisations["caf-69"], organisations["national"], organisations["cd69"]}
    assert not Organisation.objects.filter(pk__in=[o.pk for o in offered], type=TypeOrganisation.DDETS).exists()


# --- After signature: changed by avenant --------------------------------------------------------------------


def _signer_avenant(contrat, proposer) -> list:
    from contrats.enums import StatutAvenant
    from contrats.models import ModificationAvenant
    from contrats.services import avenant_create, avenant_sign, avenant_transition

    avenant = avenant_create(contrat=contrat, objet="Engagements des partenaires")
    modifications = proposer(avenant)
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    avenant_sign(avenant=avenant, signed_on=date(2024, 9, 1), signataire_etat="Préfet", signataire_collectivite="PCD")
    return [ModificationAvenant.objects.get(pk=m.pk) for m in modifications]


def test_an_avenant_changes_a_commitment_and_adds_another(organisations):
    from contrats.services import avenant_propose_engagement
    from tests.contrats.test_contenu import cls_signe

    contrat = cls_signe()
    EngagementPartenaire.objects.create(
        contrat=contrat, organisation=organisations["caf-05"], annee=2025, montant=D("15000"), en_nature="Locaux"
    )
    changement, ajout = _signer_avenant(
        contrat,
        lambda a: [
            avenant_propose_engagement(avenant=a, organisation=organisations["caf-05"], annee=2025, montant=D("20000")),
            avenant_propose_engagement(
                avenant=a, organisation=organisations["national"], annee=2026, montant=D("0"), etp=D("1.5")
            ),
        ],
    )
    caf = EngagementPartenaire.objects.get(contrat=contrat, organisation=organisations["caf-05"], annee=2025)
    assert (caf.montant, caf.en_nature) == (D("20000.00"), "")
    assert changement.avant == {"montant": "15000.00", "etp": None, "en_nature": "Locaux"}
    nouveau = EngagementPartenaire.objects.get(contrat=contrat, organisation=organisations["national"])
    assert (nouveau.annee, nouveau.etp) == (2026, D("1.50"))
    assert ajout.avant is None


@pytest.mark.parametrize(
    ("cle", "annee", "fields", "champ"),
    [
        pytest.param("ddets-05", 2025, {"montant": D("1")}, "organisation", id="pas-un-partenaire"),
        pytest.param("caf-05", 2031, {"montant": D("1")}, "annee", id="hors-du-contrat"),
        pytest.param("caf-05", 2025, {"montant": D("0")}, NON_FIELD_ERRORS, id="engagement-vide"),
    ],
)
def test_an_avenant_proposes_only_a_valid_commitment(organisations, cle, annee, fields, champ):
    from contrats.services import avenant_create, avenant_propose_engagement
    from tests.contrats.test_contenu import cls_signe

    avenant = avenant_create(contrat=cls_signe(), objet="Engagements")
    with pytest.raises(ValidationError) as exc:
        avenant_propose_engagement(avenant=avenant, organisation=organisations[cle], annee=annee, **fields)
    assert champ in exc.value.message_dict
    assert not avenant.modifications.exists()

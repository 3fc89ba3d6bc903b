"""A realistic data set for the back-office walks: every registered admin has an object to edit.

Built with the factories on top of the reference data the migrations load (régions, départements,
collectivités, axes, mesures, contract type rules, cofinancing rules):

- in the Hautes-Alpes, a convention unique in negotiation (volets, signatories of the three parties,
  fiches with the State's, the collectivité's and another funder's lines, indicators with yearly
  values, ceilings of the contract and of a volet, a committee); a signed CLS (validated fiche,
  payment, reliquat, annual report, an avenant in draft with a modification, committee); a signed
  CDIE without avenant (an avenant can be opened on it);
- in the Rhône, the same kinds of objects, outside the perimeter of the Hautes-Alpes' DDETS editor;
- the organisations and users of both territories, a superuser, the DSFR site settings.

:func:`construire_donnees` returns :class:`Donnees`; ``objets[model][variante]`` is the object
whose change page is walked (two variants for the contract: draft and signed), ``hors_perimetre``
the Rhône's objects for the DDETS 05 editor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from actions.enums import NatureAction, StatutFiche, TypeIndicateur
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from contrats.enums import NatureModification, PartieSignataire, StatutContrat, TypeComite, TypeContrat
from contrats.models import (
    Avenant,
    Comite,
    Contrat,
    EngagementPartenaire,
    LibelleAxe,
    ModificationAvenant,
    ObjectifContrat,
    PacteLocal,
    RegleTypeContrat,
    Signataire,
    Volet,
)
from contrats.services import pacte_local_get_or_create
from financement.enums import NatureVersement, StatutRapport, TypeFinanceur
from financement.models import (
    LigneFinancement,
    Plafond,
    RapportAnnuel,
    RegleCofinancement,
    Reliquat,
    Versement,
)
from pacte.enums import TypeOrganisation
from pacte.models import Axe, Collectivite, Departement, Mesure, Objectif, Organisation, Region, User
from tests.factories import (
    AvenantFactory,
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    SignataireFactory,
    UserFactory,
    ValeurIndicateurFactory,
    VersementFactory,
    VoletFactory,
    axe,
    collectivite,
    departement,
)


@dataclass
class Donnees:
    superuser: User
    editeur_05: User
    #: model → {variant: object whose change page is walked}
    objets: dict[type, dict[str, object]] = field(default_factory=dict)
    #: model → an object of the Rhône, outside the perimeter of ``editeur_05``
    hors_perimetre: dict[type, object] = field(default_factory=dict)


def _fiche_financee(contrat, code: str, axe_numero: int, porteur, financeur_autre=None, **kwargs) -> FicheAction:
    """A fiche with State and collectivité lines on its contract's first two years, another funder's
    line the first year, and an indicator with a target for those two years."""
    annees = list(contrat.annees)[:2]
    mesure = Mesure.objects.filter(axe__numero=axe_numero).order_by("code").first()
    fiche = FicheActionFactory(
        contrat=contrat,
        code=code,
        axe=axe(axe_numero),
        mesure=mesure,
        porteur=porteur,
        date_debut=contrat.date_debut,
        date_fin=contrat.date_fin,
        volume_public=250,
        etp=Decimal("1.50"),
        contexte="Diagnostic partagé avec le département.",
        **kwargs,
    )
    for annee in annees:
        LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=TypeFinanceur.ETAT, prevu=Decimal("10000"))
        LigneFinancementFactory(
            fiche=fiche, annee=annee, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=Decimal("12000")
        )
    if financeur_autre is not None:
        LigneFinancementFactory(
            fiche=fiche,
            annee=annees[0],
            type_financeur=TypeFinanceur.AUTRE,
            financeur=financeur_autre,
            prevu=Decimal("5000"),
            engage=Decimal("4000"),
            realise=Decimal("3500.50"),
        )
    indicateur = IndicateurFactory(
        fiche=fiche, nom="Personnes accompagnées", type_indicateur=TypeIndicateur.REALISATION, unite="personnes"
    )
    ValeurIndicateurFactory(indicateur=indicateur, annee=annees[0], cible=Decimal("100"), realise=Decimal("80"))
    ValeurIndicateurFactory(indicateur=indicateur, annee=annees[1], cible=Decimal("120"))
    return fiche


def _contrat_signe(code_collectivite: str, reference: str, porteur, prefet: str) -> Contrat:
    """A signed CLS with a validated fiche, a payment, a reliquat, an annual report, a committee and
    an avenant in draft proposing one change."""
    contrat = ContratFactory(collectivite=collectivite(code_collectivite), reference=reference, signe=True)
    SignataireFactory(contrat=contrat, partie=PartieSignataire.ETAT, nom="Dominique Martin", qualite=prefet)
    SignataireFactory(
        contrat=contrat, partie=PartieSignataire.COLLECTIVITE, nom="Claude Bernard", qualite="Président du conseil"
    )
    _fiche_financee(contrat, "A1-01", 1, porteur, statut=StatutFiche.VALIDEE)
    PlafondFactory(contrat=contrat, annee=2024, montant=Decimal("80000"))
    VersementFactory(contrat=contrat, annee=2024, nature=NatureVersement.UNIQUE, montant=Decimal("20000"))
    Reliquat.objects.create(
        contrat=contrat,
        annee=2024,
        verse=Decimal("20000"),
        realise_etat=Decimal("18000"),
        montant=Decimal("2000"),
        commentaire="Action démarrée en mars.",
    )
    RapportAnnuel.objects.create(
        contrat=contrat,
        annee=2024,
        statut=StatutRapport.BROUILLON,
        date_limite=date(2025, 3, 31),
        synthese="Première année d'exécution.",
    )
    Comite.objects.create(
        contrat=contrat, type_comite=TypeComite.PILOTAGE, date=date(2024, 11, 20), lieu="Préfecture", decisions="-"
    )
    avenant = AvenantFactory(contrat=contrat, numero=1, objet="Actualisation de l'annexe financière")
    ModificationAvenant.objects.create(
        avenant=avenant,
        nature=NatureModification.PREVU,
        libelle="A1-01 : État 2025 porté à 12 000 €",
        cible={"fiche": "A1-01", "annee": 2025, "type_financeur": "etat", "financeur": None},
        apres="12000.00",
    )
    return contrat


def _contenu_et_pacte_local(code_collectivite: str, contrats: list[Contrat]) -> PacteLocal:
    """The collectivité's pacte local, holding ``contrats``; each contract gets a preamble, two objectives
    and the local label of its first axis."""
    pacte_local = pacte_local_get_or_create(collectivite=collectivite(code_collectivite))
    Contrat.objects.filter(pk__in=[c.pk for c in contrats]).update(
        pacte_local=pacte_local, preambule="<p>Le <strong>préfet</strong> et le président conviennent…</p>"
    )
    for contrat in contrats:
        contrat.refresh_from_db()
        ObjectifContrat.objects.create(contrat=contrat, ordre=1, libelle="Prévenir la pauvreté des enfants.")
        ObjectifContrat.objects.create(contrat=contrat, ordre=2, libelle="Accompagner vers l'emploi.")
        LibelleAxe.objects.create(
            contrat=contrat, axe=contrat.axes.order_by("numero").first(), libelle="Petite enfance et familles"
        )
    return pacte_local


def construire_donnees() -> Donnees:
    """Creates the data set (see the module's docstring); the caller owns the transaction."""
    ddets_05 = OrganisationFactory(ddets=True, departement=departement("05"))
    prefecture_05 = OrganisationFactory(prefecture=True, departement=departement("05"))
    cd_05 = OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05"))
    caf_05 = OrganisationFactory(
        nom="CAF des Hautes-Alpes",
        type=TypeOrganisation.PARTENAIRE,
        departement=departement("05"),
        siret="53481452700014",
    )
    OrganisationFactory(
        nom="France Travail Hautes-Alpes", type=TypeOrganisation.PARTENAIRE, departement=departement("05")
    )
    dgcs = OrganisationFactory(centrale=True)
    ddets_69 = OrganisationFactory(ddets=True, departement=departement("69"))
    caf_69 = OrganisationFactory(nom="CAF du Rhône", type=TypeOrganisation.PARTENAIRE, departement=departement("69"))

    superuser = UserFactory(username="admin-hostile", is_superuser=True, organisation=dgcs)
    editeur_05 = UserFactory(username="editeur05-hostile", organisation=ddets_05)
    UserFactory(username="prefecture05-hostile", organisation=prefecture_05)
    UserFactory(username="cd05-hostile", organisation=cd_05)
    UserFactory(username="editeur69-hostile", organisation=ddets_69)

    # --- Hautes-Alpes: a convention unique in negotiation ---------------------------------------------
    brouillon = ContratFactory(
        collectivite=collectivite("D05"),
        type_contrat=TypeContrat.CONVENTION_UNIQUE,
        reference="CU-2024-D05",
        titre="Convention unique des solidarités et de l'insertion",
        statut=StatutContrat.EN_NEGOCIATION,
    )
    volet_1 = VoletFactory(contrat=brouillon, numero=1, intitule="Pilotage de la réforme")
    VoletFactory(contrat=brouillon, numero=2, intitule="Accompagnement des allocataires")
    SignataireFactory(
        contrat=brouillon, partie=PartieSignataire.ETAT, nom="Dominique Martin", qualite="Préfet", date_signature=None
    )
    SignataireFactory(
        contrat=brouillon,
        partie=PartieSignataire.COLLECTIVITE,
        nom="Claude Bernard",
        qualite="Président du conseil départemental",
        date_signature=None,
    )
    SignataireFactory(
        contrat=brouillon,
        partie=PartieSignataire.PARTENAIRE,
        organisation=caf_05,
        nom="Alix Roux",
        qualite="Directrice de la CAF",
        date_signature=None,
    )
    fiche = _fiche_financee(brouillon, "A1-01", 1, caf_05, financeur_autre=caf_05)
    _fiche_financee(brouillon, "A2-01", 2, caf_05, volet=volet_1, nature=NatureAction.NOUVELLE)
    PlafondFactory(contrat=brouillon, annee=2024, montant=Decimal("100000"))
    EngagementPartenaire.objects.create(
        contrat=brouillon,
        organisation=caf_05,
        annee=2024,
        montant=Decimal("1000"),
        etp=Decimal("0.5"),
        en_nature="Locaux",
    )
    PlafondFactory(contrat=brouillon, annee=2025, montant=Decimal("100000"))
    PlafondFactory(contrat=brouillon, volet=volet_1, annee=2024, montant=Decimal("30000"))
    comite = Comite.objects.create(
        contrat=brouillon,
        type_comite=TypeComite.SUIVI,
        date=date(2024, 6, 14),
        lieu="Gap",
        participants="Préfecture, département, CAF",
        decisions="Calendrier des fiches validé.",
    )

    # --- Hautes-Alpes: signed contracts ---------------------------------------------------------------
    signe = _contrat_signe("D05", "CLS-2024-D05", caf_05, "Préfet des Hautes-Alpes")
    ContratFactory(collectivite=collectivite("D05"), cdie=True, reference="CDIE-2024-D05", signe=True)

    # --- Rhône: outside the perimeter of the Hautes-Alpes' editor -------------------------------------
    brouillon_69 = ContratFactory(collectivite=collectivite("D69"), reference="CLS-2025-D69")
    _fiche_financee(brouillon_69, "A3-01", 3, caf_69)
    signe_69 = _contrat_signe("D69", "CLS-2024-D69", caf_69, "Préfet du Rhône")

    # --- Contract content and pactes locaux (the factories bypass contrat_create, which attaches them) --
    pacte_local_05 = _contenu_et_pacte_local("D05", [brouillon, signe])
    pacte_local_69 = _contenu_et_pacte_local("D69", [brouillon_69, signe_69])

    from dsfr.models import DsfrConfig, DsfrSocialMedia

    config = DsfrConfig.objects.first() or DsfrConfig.objects.create(site_title="Pacte des solidarités")
    if not DsfrSocialMedia.objects.filter(site_config=config).exists():
        DsfrSocialMedia.objects.create(
            site_config=config, title="Mastodon", url="https://social.numerique.gouv.fr/", icon_class="fr-btn--mastodon"
        )

    ligne_etat = fiche.financements.get(annee=2024, type_financeur=TypeFinanceur.ETAT)
    indicateur = fiche.indicateurs.get()
    avenant = signe.avenants.get()
    objets = {
        Contrat: {"brouillon": brouillon, "signe": signe},
        PacteLocal: {"pacte_local": pacte_local_05},
        Signataire: {"etat": brouillon.signataires.get(partie=PartieSignataire.ETAT)},
        Volet: {"volet": volet_1},
        Comite: {"comite": comite},
        Avenant: {"brouillon": avenant},
        ModificationAvenant: {"modification": avenant.modifications.get()},
        RegleTypeContrat: {
            "convention_unique": RegleTypeContrat.objects.get(type_contrat=TypeContrat.CONVENTION_UNIQUE)
        },
        FicheAction: {"proposee": fiche},
        Indicateur: {"indicateur": indicateur},
        ValeurIndicateur: {"2024": indicateur.valeurs.get(annee=2024)},
        LigneFinancement: {"etat": ligne_etat},
        Plafond: {"contrat": brouillon.plafonds.get(annee=2024, volet=None)},
        Versement: {"versement": signe.versements.get()},
        Reliquat: {"reliquat": signe.reliquats.get()},
        RapportAnnuel: {"rapport": signe.rapports.get()},
        RegleCofinancement: {
            "generale": RegleCofinancement.objects.get(type_contrat=TypeContrat.CONVENTION_UNIQUE, volet_numero=None)
        },
        Region: {"paca": Region.objects.get(code="93")},
        Departement: {"05": departement("05")},
        Collectivite: {"D05": collectivite("D05")},
        Axe: {"1": Axe.objects.get(numero=1)},
        Mesure: {"mesure": fiche.mesure},
        Objectif: {"objectif": Objectif.objects.get(code="O1-1")},
        Organisation: {"partenaire": caf_05},
        User: {"editeur": editeur_05},
        DsfrConfig: {"site": config},
    }
    fiche_69 = brouillon_69.fiches.get()
    hors_perimetre = {
        Contrat: brouillon_69,
        PacteLocal: pacte_local_69,
        Signataire: signe_69.signataires.first(),
        Comite: signe_69.comites.get(),
        Avenant: signe_69.avenants.get(),
        ModificationAvenant: signe_69.avenants.get().modifications.get(),
        FicheAction: fiche_69,
        Indicateur: fiche_69.indicateurs.get(),
        ValeurIndicateur: fiche_69.indicateurs.get().valeurs.first(),
        LigneFinancement: fiche_69.financements.first(),
        Plafond: signe_69.plafonds.get(),
        Versement: signe_69.versements.get(),
        Reliquat: signe_69.reliquats.get(),
        RapportAnnuel: signe_69.rapports.get(),
        Organisation: caf_69,
        User: User.objects.get(username="editeur69-hostile"),
    }
    return Donnees(superuser=superuser, editeur_05=editeur_05, objets=objets, hors_perimetre=hors_perimetre)

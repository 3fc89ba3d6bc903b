"""Factories of the domain, built on the reference data that the migrations load.

Territories (régions, départements, collectivités, axes, measures) are never created here: they
are looked up by their natural key, e.g. ``Collectivite.objects.get(code="D05")``.
"""

from datetime import date
from decimal import Decimal

import factory

from actions.enums import NatureAction, StatutFiche, TypeIndicateur
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from contrats.enums import PartieSignataire, StatutContrat, TypeContrat
from contrats.models import Avenant, Contrat, Signataire, Volet
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement, Plafond, Versement
from pacte.enums import Role, TypeOrganisation
from pacte.models import Axe, Collectivite, Departement, Organisation, Region, User


def collectivite(code: str = "D05") -> Collectivite:
    return Collectivite.objects.get(code=code)


def departement(code: str = "05") -> Departement:
    return Departement.objects.get(code=code)


def region(code: str = "93") -> Region:
    return Region.objects.get(code=code)


def axe(numero: int) -> Axe:
    return Axe.objects.get(numero=numero)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    nom = factory.Sequence(lambda n: f"Organisation {n}")
    type = TypeOrganisation.PARTENAIRE

    class Params:
        ddets = factory.Trait(
            type=TypeOrganisation.DDETS,
            departement=factory.LazyFunction(departement),
            nom=factory.LazyAttribute(lambda o: f"DDETS {o.departement.nom}"),
        )
        prefecture = factory.Trait(
            type=TypeOrganisation.PREFECTURE,
            departement=factory.LazyFunction(departement),
            nom=factory.LazyAttribute(lambda o: f"Préfecture {o.departement.nom}"),
        )
        dreets = factory.Trait(
            type=TypeOrganisation.DREETS,
            region=factory.LazyFunction(region),
            nom=factory.LazyAttribute(lambda o: f"DREETS {o.region.nom}"),
        )
        de_collectivite = factory.Trait(
            type=TypeOrganisation.COLLECTIVITE,
            collectivite=factory.LazyFunction(collectivite),
            nom=factory.LazyAttribute(lambda o: o.collectivite.nom),
        )
        centrale = factory.Trait(type=TypeOrganisation.ADMINISTRATION_CENTRALE, nom="DGCS")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Agent{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.gouv.fr")
    is_staff = True
    organisation = factory.SubFactory(OrganisationFactory, ddets=True)
    role = Role.EDITEUR
    password = factory.django.Password("mot-de-passe-de-test")

    class Params:
        lecteur = factory.Trait(role=Role.LECTEUR)


class ContratFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contrat
        skip_postgeneration_save = True

    collectivite = factory.LazyFunction(collectivite)
    type_contrat = TypeContrat.CLS_DEPARTEMENT
    reference = factory.Sequence(lambda n: f"CLS-2024-T{n:03d}")
    titre = "Contrat local des solidarités"
    date_debut = date(2024, 1, 1)
    date_fin = date(2027, 12, 31)
    statut = StatutContrat.EN_NEGOCIATION

    class Params:
        signe = factory.Trait(statut=StatutContrat.SIGNE, date_signature=date(2024, 3, 15))
        cdie = factory.Trait(
            type_contrat=TypeContrat.CDIE,
            reference=factory.Sequence(lambda n: f"CDIE-2024-T{n:03d}"),
            date_fin=date(2024, 12, 31),
        )

    @factory.post_generation
    def axes(self, create, extracted, **kwargs):
        if not create:
            return
        if extracted is not None:
            self.axes.set(extracted)
        elif self.type_contrat == TypeContrat.CDIE:
            self.axes.set(Axe.objects.filter(numero=2))
        elif self.type_contrat == TypeContrat.CLS_DEPARTEMENT:
            self.axes.set(Axe.objects.filter(numero__in=[1, 3, 4]))
        else:
            self.axes.set(Axe.objects.all())


class SignataireFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Signataire

    contrat = factory.SubFactory(ContratFactory)
    partie = PartieSignataire.ETAT
    nom = "Dominique Martin"
    qualite = "Préfet"
    date_signature = date(2024, 3, 15)


class VoletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Volet

    contrat = factory.SubFactory(ContratFactory, cdie=True)
    numero = 1
    intitule = "Pilotage de la réforme"


class FicheActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FicheAction

    contrat = factory.SubFactory(ContratFactory)
    axe = factory.LazyFunction(lambda: axe(1))
    code = factory.Sequence(lambda n: f"A1-{(n % 900) + 10:02d}")
    intitule = factory.Sequence(lambda n: f"Action {n}")
    nature = NatureAction.NOUVELLE
    porteur = factory.SubFactory(OrganisationFactory)
    date_debut = date(2024, 1, 1)
    date_fin = date(2027, 12, 31)
    statut = StatutFiche.PROPOSEE

    class Params:
        validee = factory.Trait(statut=StatutFiche.VALIDEE)


class LigneFinancementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LigneFinancement

    fiche = factory.SubFactory(FicheActionFactory)
    annee = 2024
    type_financeur = TypeFinanceur.ETAT
    prevu = Decimal("10000.00")


class PlafondFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plafond

    contrat = factory.SubFactory(ContratFactory)
    annee = 2024
    montant = Decimal("100000.00")


class IndicateurFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Indicateur

    fiche = factory.SubFactory(FicheActionFactory)
    nom = "Personnes accompagnées"
    type_indicateur = TypeIndicateur.REALISATION
    unite = "personnes"


class ValeurIndicateurFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ValeurIndicateur

    indicateur = factory.SubFactory(IndicateurFactory)
    annee = 2024
    cible = Decimal("100")


class AvenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Avenant

    contrat = factory.SubFactory(ContratFactory, signe=True)
    numero = factory.Sequence(lambda n: n + 1)
    objet = "Actualisation de l'annexe financière"


class VersementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Versement

    contrat = factory.SubFactory(ContratFactory, signe=True)
    annee = 2024
    nature = "unique"
    montant = Decimal("50000.00")
    numero_ej = "2100123456"
    date_versement = date(2024, 6, 1)

"""The demo data (``manage.py seed_demo``): realistic, deterministic, and faithful to the product's rules."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.test import TestCase

from actions.enums import STATUTS_ACTIFS
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from actions.services import fiche_errors
from contrats.enums import STATUTS_FIGES, PartieSignataire, StatutAvenant, StatutContrat, TypeContrat
from contrats.models import (
    Avenant,
    Contrat,
    EngagementPartenaire,
    LibelleAxe,
    ModificationAvenant,
    ObjectifContrat,
    PacteLocal,
    Signataire,
    Volet,
)
from contrats.services import avenant_sign, avenant_transition, contrat_create, signature_errors
from demo import catalogue
from demo.builder import DEMO_PASSWORD_DEFAULT, DEMO_USERNAMES, counts
from demo.builder.territoires import all_demo_org_specs
from financement.enums import StatutRapport, TypeFinanceur
from financement.models import LigneFinancement, Plafond, RapportAnnuel, Reliquat, Versement
from financement.services import alertes_realise, beneficiaire_errors, reliquat_compute
from pacte.enums import TypeOrganisation
from pacte.models import Collectivite, Departement, Organisation, Region, User
from pacte.perimeters import Niveau, perimetre_of
from pacte.validators import validate_siret

REGION_93 = ["D04", "D05", "D06", "D13", "D83", "D84", "M-AMP", "M-NCE", "M-TPM"]


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", scale="region", stdout=out, **options)
    return out.getvalue()


def fingerprint() -> dict:
    """What must not change between two seeds with the same seed."""
    return {
        "counts": counts(),
        "contrats": list(Contrat.objects.order_by("reference").values_list("reference", "statut", "date_signature")),
        "fiches": list(FicheAction.objects.order_by("contrat__reference", "code").values_list("code", "statut")),
        "prevu": LigneFinancement.objects.aggregate(s=Sum("prevu"))["s"],
        "realise": LigneFinancement.objects.aggregate(s=Sum("realise"))["s"],
        "verse": Versement.objects.aggregate(s=Sum("montant"))["s"],
        "beneficiaires": list(
            Versement.objects.order_by("contrat__reference", "annee", "beneficiaire__nom").values_list(
                "contrat__reference", "annee", "beneficiaire__siret", "montant"
            )
        ),
        "contenu": list(
            ObjectifContrat.objects.order_by("contrat__reference", "ordre").values_list(
                "contrat__reference", "contrat__preambule", "libelle"
            )
        ),
        "engagements": list(
            EngagementPartenaire.objects.order_by("contrat__reference", "organisation__nom", "annee").values_list(
                "organisation__nom", "annee", "montant", "etp"
            )
        ),
    }


class SeedDemoRegionTests(TestCase):
    """Région 93 (PACA), seeded once for the class; each test runs in a savepoint."""

    @classmethod
    def setUpTestData(cls):
        cls.output = seed()
        cls.fingerprint = fingerprint()

    # -- volumes

    def test_counts_are_in_the_expected_ranges(self):
        assert "Données de démonstration chargées (région 93, graine 42)" in self.output
        assert "lignes de financement" in self.output
        assert sorted(set(Contrat.objects.values_list("collectivite__code", flat=True))) == REGION_93
        assert Contrat.objects.count() == 6 * 3 + 3 * 2  # CLS, CDIE, CPT per département; CLS, CPT per métropole
        assert 150 <= FicheAction.objects.count() <= 320
        for contrat in Contrat.objects.filter(
            type_contrat__in=[TypeContrat.CLS_DEPARTEMENT, TypeContrat.CLS_METROPOLE]
        ):
            assert 10 <= contrat.fiches.count() <= 25, contrat
        for contrat in Contrat.objects.filter(type_contrat=TypeContrat.CPT):
            assert 1 <= contrat.fiches.count() <= 3, contrat
        assert 1_000 <= LigneFinancement.objects.count() <= 3_000
        assert LigneFinancement.objects.filter(type_financeur=TypeFinanceur.AUTRE).exists()
        assert 150 <= Indicateur.objects.count() <= 3 * FicheAction.objects.count()
        assert ValeurIndicateur.objects.filter(realise__isnull=False, annee__in=[2024, 2025]).exists()
        assert not ValeurIndicateur.objects.filter(realise__isnull=False, annee__gte=date.today().year).exists()
        assert Versement.objects.count() >= 20
        assert all(len(ej) == 10 and ej.isdigit() for ej in Versement.objects.values_list("numero_ej", flat=True))
        assert User.objects.filter(username__in=DEMO_USERNAMES).count() == len(DEMO_USERNAMES)

    def test_every_status_is_present_and_most_cls_and_cdie_are_signed(self):
        assert set(Contrat.objects.values_list("statut", flat=True)) == set(StatutContrat.values)
        cls_cdie = Contrat.objects.exclude(type_contrat=TypeContrat.CPT)
        signed = cls_cdie.filter(statut__in=STATUTS_FIGES).count()
        assert signed > cls_cdie.count() / 2

    def test_references_and_shapes_follow_the_contract_types(self):
        for code in ("D05", "D13"):
            assert {c.reference for c in Contrat.objects.filter(collectivite__code=code)} == {
                f"CLS-2024-{code}",
                f"CDIE-2024-{code}",
                f"CPT-2024-{code}",
            }
        assert {c.reference for c in Contrat.objects.filter(collectivite__code="M-NCE")} == {
            "CLS-2024-M-NCE",
            "CPT-2024-M-NCE",
        }
        for contrat in Contrat.objects.prefetch_related("axes"):
            axes = sorted(a.numero for a in contrat.axes.all())
            expected = {
                TypeContrat.CLS_DEPARTEMENT: [1, 3, 4],
                TypeContrat.CLS_METROPOLE: [1, 2, 3, 4],
                TypeContrat.CDIE: [2],
                TypeContrat.CPT: [1, 2, 3, 4],
            }[contrat.type_contrat]
            assert axes == expected, contrat
        for cdie in Contrat.objects.filter(type_contrat=TypeContrat.CDIE):
            assert (cdie.date_debut, cdie.date_fin) == (date(2024, 1, 1), date(2024, 12, 31))
            assert 2 <= cdie.volets.count() <= 3
            volet1 = LigneFinancement.objects.filter(fiche__contrat=cdie, fiche__volet__numero=1)
            assert set(volet1.values_list("type_financeur", flat=True)) == {TypeFinanceur.ETAT}  # 100 % État
            assert Plafond.objects.filter(contrat=cdie, volet__isnull=False).exists()
        for cls in Contrat.objects.filter(type_contrat=TypeContrat.CLS_METROPOLE):
            assert set(cls.fiches.values_list("axe__numero", flat=True)) == {1, 2, 3, 4}
        renforcees = FicheAction.objects.filter(nature="renforcee")
        assert renforcees.exists() and not renforcees.filter(justification_renforcement="").exists()
        assert FicheAction.objects.filter(code="A1-01", intitule__isnull=False).exists()

    # -- the product's rules

    def test_every_signed_or_ready_contract_passes_the_signature_checks(self):
        checked = 0
        for contrat in Contrat.objects.filter(statut__in=[*STATUTS_FIGES, StatutContrat.PRET_SIGNATURE]):
            assert signature_errors(contrat) == [], contrat.reference
            checked += 1
        assert checked >= 15

    def test_signed_contracts_have_their_signatories_and_dates(self):
        for contrat in Contrat.objects.filter(statut__in=STATUTS_FIGES):
            assert contrat.date_signature is not None and contrat.date_signature <= date.today()
            parties = Counter(contrat.signataires.values_list("partie", flat=True))
            assert parties["etat"] == 1 and parties["collectivite"] == 1, contrat
            assert not contrat.signataires.filter(date_signature__gt=contrat.date_signature).exists()
            assert not contrat.signataires.filter(date_signature__isnull=True).exists()
            if contrat.type_contrat == TypeContrat.CPT:
                assert parties["partenaire"] >= 2, contrat
        assert Contrat.objects.filter(statut=StatutContrat.RESILIE).exclude(motif_fin="").exists()
        assert not Contrat.objects.exclude(statut__in=STATUTS_FIGES).filter(date_signature__isnull=False).exists()

    def test_every_row_is_valid_for_the_models(self):
        """bulk_create skips full_clean: check field lengths and choices here (SQLite does not enforce
        lengths). Check and unique constraints are enforced by the database itself."""
        models = (Contrat, Volet, Signataire, Plafond, FicheAction, Avenant, Versement, Reliquat, RapportAnnuel)
        models += (LigneFinancement, ValeurIndicateur, Indicateur, ModificationAvenant, Organisation)
        models += (PacteLocal, ObjectifContrat, LibelleAxe, EngagementPartenaire)
        for model in models:
            for obj in model.objects.all():
                obj.full_clean(validate_unique=False, validate_constraints=False)
        for fiche in FicheAction.objects.select_related("contrat", "axe", "mesure__axe", "volet"):
            assert fiche_errors(fiche) == {}, fiche

    # -- what real contracts hold

    def test_each_collectivite_has_its_pacte_local_grouping_its_contracts(self):
        pactes = PacteLocal.objects.select_related("collectivite")
        assert sorted(p.collectivite.code for p in pactes) == REGION_93
        assert {(p.annee_debut, p.annee_fin) for p in pactes} == {(2024, 2027)}
        for contrat in Contrat.objects.select_related("pacte_local"):
            assert contrat.pacte_local.collectivite_id == contrat.collectivite_id, contrat
        d05 = PacteLocal.objects.get(collectivite__code="D05")
        assert {c.reference for c in d05.contrats.all()} == {"CLS-2024-D05", "CDIE-2024-D05", "CPT-2024-D05"}

    def test_every_contract_states_its_objectives_preamble_and_diagnostic(self):
        for contrat in Contrat.objects.prefetch_related("objectifs", "axes", "libelles_axes"):
            ordres = [o.ordre for o in contrat.objectifs.all()]
            expected = range(2, 4) if contrat.type_contrat == TypeContrat.CDIE else range(2, 5)
            assert len(ordres) in expected and sorted(ordres) == list(range(1, len(ordres) + 1)), contrat
            assert contrat.collectivite.nom in contrat.preambule and contrat.diagnostic.strip(), contrat
            axes = {a.pk for a in contrat.axes.all()}
            assert {libelle.axe_id for libelle in contrat.libelles_axes.all()} <= axes, contrat
        with_local_wording = Contrat.objects.filter(libelles_axes__isnull=False).distinct().count()
        assert 0 < with_local_wording < Contrat.objects.count() / 2

    def test_fiches_are_filed_under_what_they_serve(self):
        fiches = FicheAction.objects.select_related("mesure")
        for fiche in fiches:
            assert fiche.mesure_id or fiche.objectif_id or fiche.mesure_locale, fiche
            if fiche.mesure_id:
                assert fiche.objectif_id == fiche.mesure.objectif_id and not fiche.mesure_locale, fiche
        hors_mesure = fiches.filter(mesure__isnull=True)
        assert 0.35 <= hors_mesure.count() / fiches.count() <= 0.65
        assert hors_mesure.filter(mesure_locale="", objectif__isnull=False).exists()  # an objective only
        assert hors_mesure.exclude(mesure_locale="").exists()  # a local measure

    def test_no_real_organisation_carries_an_action_outside_its_field(self):
        kinds = {spec.nom: key[2] for key, spec in all_demo_org_specs().items() if key[0] == "partenaire"}
        gabarits = {g.intitule: g for gabarits in catalogue.CATALOGUE.values() for g in gabarits}
        gabarits |= {g.intitule: g for g in (*catalogue.PILOTAGE, *catalogue.CPT)}
        checked = 0
        for fiche in FicheAction.objects.select_related("porteur", "contrat"):
            porteur = fiche.porteur
            kind = "collectivite" if porteur.collectivite_id else kinds[porteur.nom]
            assert kind in gabarits[fiche.intitule].porteurs, (fiche.intitule, porteur.nom)
            assert catalogue.peut_porter(kind, gabarits[fiche.intitule]), (fiche.intitule, porteur.nom)
            if catalogue.NATURE_PARTENAIRE.get(kind) == "fictif":
                assert porteur.nom.endswith(("(fictive)", "(fictif)")), porteur.nom
            checked += 1
        assert checked == FicheAction.objects.count()

    def test_pactes_locaux_are_carried_by_partners_and_funded_without_parity(self):
        cpt = FicheAction.objects.filter(contrat__type_contrat=TypeContrat.CPT)
        assert not cpt.filter(porteur__type=TypeOrganisation.COLLECTIVITE).exists()
        assert not cpt.filter(porteur__siret="").exists()
        etat = cpt.filter(financements__type_financeur=TypeFinanceur.ETAT).distinct()
        sans_collectivite = etat.exclude(financements__type_financeur=TypeFinanceur.COLLECTIVITE)
        assert sans_collectivite.count() > etat.count() / 2  # no Département money required
        assert sans_collectivite.filter(financements__type_financeur=TypeFinanceur.AUTRE).exists()  # partners add
        assert sans_collectivite.exclude(financements__type_financeur=TypeFinanceur.AUTRE).exists()  # State alone

    def test_the_state_pays_the_carriers_of_a_pacte_local(self):
        versements = Versement.objects.filter(contrat__type_contrat=TypeContrat.CPT).select_related("beneficiaire")
        assert versements.exists()
        assert not versements.filter(beneficiaire__isnull=True).exists()
        assert not Versement.objects.exclude(contrat__type_contrat=TypeContrat.CPT).exclude(beneficiaire=None).exists()
        for versement in Versement.objects.select_related("contrat", "beneficiaire"):  # what the service accepts
            assert beneficiaire_errors(contrat=versement.contrat, beneficiaire=versement.beneficiaire) == {}
        for versement in versements:
            validate_siret(versement.beneficiaire.siret)
            assert versement.beneficiaire.siret
            du = LigneFinancement.objects.filter(
                fiche__contrat=versement.contrat,
                fiche__porteur=versement.beneficiaire,
                fiche__statut__in=STATUTS_ACTIFS,
                annee=versement.annee,
                type_financeur=TypeFinanceur.ETAT,
            ).aggregate(s=Sum("prevu"))["s"]
            assert versement.montant == du, versement

    def test_partners_of_a_pacte_local_record_their_commitments(self):
        signataires = Signataire.objects.filter(
            contrat__type_contrat=TypeContrat.CPT, partie=PartieSignataire.PARTENAIRE
        ).select_related("contrat")
        assert signataires.exists()
        for signataire in signataires:
            contrat, org = signataire.contrat, signataire.organisation
            engagements = EngagementPartenaire.objects.filter(contrat=contrat, organisation=org)
            assert sorted(engagements.values_list("annee", flat=True)) == list(contrat.annees), signataire
            for engagement in engagements:
                lignes = LigneFinancement.objects.filter(fiche__contrat=contrat, financeur=org, annee=engagement.annee)
                assert engagement.montant == (lignes.aggregate(s=Sum("prevu"))["s"] or 0), engagement
        assert EngagementPartenaire.objects.filter(montant__gt=0).exists()
        assert EngagementPartenaire.objects.filter(etp__gt=0).exclude(en_nature="").exists()
        assert EngagementPartenaire.objects.count() == 4 * signataires.count()
        # The carriers of a signed pacte local's actions sign it.
        for contrat in Contrat.objects.filter(type_contrat=TypeContrat.CPT, statut__in=STATUTS_FIGES):
            signing = set(contrat.signataires.values_list("organisation", flat=True))
            assert set(contrat.fiches.values_list("porteur", flat=True)) <= signing, contrat

    def test_deliberate_warnings_are_there(self):
        alertes = [msg for contrat in Contrat.objects.all() for msg in alertes_realise(contrat)]
        assert any("la part réalisée de l'État" in msg for msg in alertes)
        negociation = [signature_errors(c) for c in Contrat.objects.filter(statut=StatutContrat.EN_NEGOCIATION)]
        assert any("la part prévue de l'État" in msg and "dépasse celle" in msg for e in negociation for msg in e)
        brouillons = [signature_errors(c) for c in Contrat.objects.filter(statut=StatutContrat.BROUILLON)]
        assert any("dépassent l'enveloppe annuelle" in msg for e in brouillons for msg in e)

    def test_follow_up_avenants_reliquats_reports(self):
        signed = Avenant.objects.filter(statut=StatutAvenant.SIGNE)
        assert signed.count() >= 2
        for avenant in signed:
            assert avenant.date_signature >= avenant.contrat.date_signature
            assert avenant.modifications.exists()
            assert not avenant.modifications.filter(applique_le__isnull=True).exists()
        assert Avenant.objects.filter(statut=StatutAvenant.BROUILLON).count() == 1
        assert ModificationAvenant.objects.filter(avenant__statut=StatutAvenant.SIGNE, avant__isnull=False).exists()
        rapports = Counter(RapportAnnuel.objects.filter(annee=2024).values_list("statut", flat=True))
        assert rapports[StatutRapport.VALIDE] >= 2 and rapports[StatutRapport.TRANSMIS] >= 1
        assert RapportAnnuel.objects.filter(statut=StatutRapport.A_COMPLETER).count() == 1
        assert Reliquat.objects.exclude(decision="").exists()
        # The reliquats are what the service computes from payments and spent amounts.
        for reliquat in Reliquat.objects.select_related("contrat"):
            seeded = (reliquat.verse, reliquat.realise_etat, reliquat.montant, reliquat.decision)
            recomputed = reliquat_compute(contrat=reliquat.contrat, annee=reliquat.annee)
            assert (recomputed.verse, recomputed.realise_etat, recomputed.montant, recomputed.decision) == seeded

    def test_the_draft_avenant_can_be_signed_through_the_services(self):
        avenant = Avenant.objects.get(statut=StatutAvenant.BROUILLON)
        contrat = avenant.contrat
        fiches = contrat.fiches.count()
        avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
        avenant_sign(
            avenant=avenant,
            signed_on=date.today(),
            signataire_etat="La préfète",
            signataire_collectivite="Le président",
        )
        assert contrat.fiches.count() == fiches + 1
        assert signature_errors(contrat) == []

    # -- demo users

    def test_demo_users_have_the_right_perimeters(self):
        users = {u.username: u for u in User.objects.filter(username__in=DEMO_USERNAMES).select_related("organisation")}
        assert all(u.is_staff and u.is_active and u.check_password(DEMO_PASSWORD_DEFAULT) for u in users.values())
        assert users["admin"].is_superuser and perimetre_of(users["admin"]).niveau == Niveau.NATION
        dep05 = Departement.objects.get(code="05")
        for username in ("ddets05", "ddets05-lecteur", "prefecture05"):
            perimetre = perimetre_of(users[username])
            assert (perimetre.niveau, perimetre.departement_id) == (Niveau.DEPARTEMENT, dep05.pk), username
        assert users["ddets05"].role == "editeur" and users["ddets05-lecteur"].role == "lecteur"
        d05, lyon = Collectivite.objects.get(code="D05"), Collectivite.objects.get(code="M-LYO")
        assert perimetre_of(users["cd05"]).collectivite_id == d05.pk
        assert perimetre_of(users["metropole-lyon"]).niveau == Niveau.COLLECTIVITE
        assert perimetre_of(users["metropole-lyon"]).collectivite_id == lyon.pk
        assert perimetre_of(users["ddets69"]).departement_id == Departement.objects.get(code="69").pk
        paca = perimetre_of(users["dreets-paca"])
        assert (paca.niveau, paca.region_id) == (Niveau.REGION, Region.objects.get(code="93").pk)
        assert perimetre_of(users["dgcs"]).niveau == Niveau.NATION and users["dgcs"].role == "editeur"
        assert perimetre_of(users["partenaire-caf05"]).niveau == Niveau.PORTEUR
        # What they see follows.
        assert set(Contrat.objects.for_user(users["cd05"]).values_list("reference", flat=True)) == {
            "CLS-2024-D05",
            "CDIE-2024-D05",
            "CPT-2024-D05",
        }
        assert Contrat.objects.for_user(users["dreets-paca"]).count() == 24
        carried = FicheAction.objects.for_user(users["partenaire-caf05"])
        assert carried.exists()
        assert set(carried.values_list("porteur__nom", flat=True)) == {"CAF des Hautes-Alpes"}

    def test_demo_logins_prints_every_account(self):
        out = io.StringIO()
        call_command("demo_logins", stdout=out)
        text = out.getvalue()
        for username in DEMO_USERNAMES:
            assert username in text
        assert DEMO_PASSWORD_DEFAULT in text
        assert "Département 05 (D05)" in text

    # -- idempotence and determinism

    def test_if_empty_does_nothing_when_contracts_exist(self):
        output = seed(if_empty=True)
        assert "non chargées" in output
        assert fingerprint() == self.fingerprint
        with pytest.raises(CommandError, match="--reset"):
            seed()

    def test_reset_reseeds_the_same_data(self):
        User.objects.filter(username="cd05").update(first_name="Modifié")
        seed(reset=True)
        assert fingerprint() == self.fingerprint
        assert User.objects.get(username="cd05").first_name == "Sophie"

    def test_another_seed_gives_other_data(self):
        seed(reset=True, seed=7)
        assert fingerprint()["prevu"] != self.fingerprint["prevu"]
        assert set(Contrat.objects.values_list("statut", flat=True)) == set(StatutContrat.values)


def test_reset_keeps_organisations_used_by_real_users(db):
    seed()
    ddets = Organisation.objects.get(nom="DDETS des Hautes-Alpes")
    User.objects.create(username="agent.reel", organisation=ddets)
    seed(reset=True)
    assert Organisation.objects.filter(nom="DDETS des Hautes-Alpes").count() == 1
    assert User.objects.get(username="agent.reel").organisation_id == ddets.pk
    assert User.objects.get(username="ddets05").organisation_id == ddets.pk


def test_reset_removes_partners_named_by_earlier_versions_of_the_demo(db):
    seed()
    dep05 = Departement.objects.get(code="05")
    ancien = Organisation.objects.create(type="partenaire", nom="ADIL des Hautes-Alpes", departement=dep05)
    autre = Organisation.objects.create(type="partenaire", nom="ADIL des Hautes-Alpes (saisie)", departement=dep05)
    seed(reset=True)
    assert not Organisation.objects.filter(pk=ancien.pk).exists()
    assert Organisation.objects.filter(pk=autre.pk).exists()  # not a name the demo ever gave


def test_unknown_region_is_refused(db):
    with pytest.raises(CommandError, match="Région inconnue"):
        call_command("seed_demo", scale="region", region="99", stdout=io.StringIO())
    assert not Contrat.objects.exists()


def test_amounts_are_decimals_to_the_cent(db):
    seed()
    ligne = LigneFinancement.objects.exclude(realise=None).first()
    assert isinstance(ligne.realise, Decimal) and ligne.realise == ligne.realise.quantize(Decimal("0.01"))


def test_reset_removes_every_contract_and_its_history(db):
    seed()
    contrat = contrat_create(
        collectivite=Collectivite.objects.get(code="D69"),
        type_contrat=TypeContrat.CLS_DEPARTEMENT,
        date_debut=date(2024, 1, 1),
        date_fin=date(2027, 12, 31),
    )
    assert Contrat.history.filter(reference=contrat.reference).exists()
    seed(reset=True)
    assert not Contrat.objects.filter(reference=contrat.reference).exists()
    assert not Contrat.history.filter(reference=contrat.reference).exists()
    assert Contrat.objects.count() == 24

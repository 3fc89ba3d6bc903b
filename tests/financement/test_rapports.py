"""Annual execution reports (docs/regles.md, Rapports annuels d'exécution): opened every year pre-filled with a
section per action (``ouvrir_rapports``), the sections written while the collectivité holds the report, the figures
copied when it is sent, the reminders e-mailed before and after the due date (``relancer_rapports``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from actions.enums import StatutFiche
from contrats.enums import StatutContrat
from financement.enums import AvancementAction, NatureRelance, StatutRapport, TypeFinanceur
from financement.models import RapportAction, RapportAnnuel, RelanceRapport
from financement.services import (
    ChiffresAction,
    fiches_du_rapport,
    ligne_financement_set,
    rapport_chiffres,
    rapport_create,
    rapport_save,
    rapport_section_save,
    rapport_sections_completer,
    rapport_transition,
    relance_due,
)
from pacte.enums import Role
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    UserFactory,
    ValeurIndicateurFactory,
    axe,
    collectivite,
)

pytestmark = pytest.mark.django_db

D = Decimal
ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE


def signe(reference="CLS-2024-D05", statut=StatutContrat.SIGNE, **kwargs):
    return ContratFactory(
        collectivite=kwargs.pop("collectivite", collectivite("D05")),
        reference=reference,
        statut=statut,
        date_signature=date(2024, 3, 15),
        **kwargs,
    )


def fiche(contrat, code, statut=StatutFiche.VALIDEE, **kwargs):
    return FicheActionFactory(
        contrat=contrat, code=code, statut=statut, axe=axe(1), intitule=f"Action {code}", **kwargs
    )


# --- Which actions a report covers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statut", "debut", "fin", "argent", "couverte"),
    [
        pytest.param(StatutFiche.VALIDEE, date(2024, 1, 1), date(2027, 12, 31), None, True, id="validee-sur-l-annee"),
        pytest.param(StatutFiche.PROPOSEE, date(2024, 1, 1), date(2027, 12, 31), None, True, id="proposee-active"),
        pytest.param(StatutFiche.EN_COURS, date(2024, 12, 31), date(2025, 6, 30), None, True, id="commence-le-31-dec"),
        pytest.param(StatutFiche.TERMINEE, date(2024, 1, 1), date(2024, 1, 1), None, True, id="finie-le-1er-janvier"),
        pytest.param(
            StatutFiche.VALIDEE, date(2025, 1, 1), date(2027, 12, 31), None, False, id="commence-l-an-d-apres"
        ),
        pytest.param(StatutFiche.ABANDONNEE, date(2024, 1, 1), date(2027, 12, 31), None, False, id="abandonnee"),
        pytest.param(
            StatutFiche.ABANDONNEE, date(2024, 1, 1), date(2027, 12, 31), "realise", True, id="abandonnee-qui-a-depense"
        ),
        pytest.param(
            StatutFiche.ABANDONNEE, date(2024, 1, 1), date(2027, 12, 31), "engage", True, id="abandonnee-qui-a-engage"
        ),
        pytest.param(StatutFiche.ABANDONNEE, date(2024, 1, 1), date(2027, 12, 31), "zero", False, id="abandonnee-a-0"),
        pytest.param(
            StatutFiche.VALIDEE, date(2025, 1, 1), date(2027, 12, 31), "realise", True, id="argent-hors-de-ses-dates"
        ),
    ],
)
def test_fiches_du_rapport(statut, debut, fin, argent, couverte):
    contrat = signe()
    f = fiche(contrat, "A1-01", statut=statut, date_debut=debut, date_fin=fin)
    if argent == "zero":
        LigneFinancementFactory(fiche=f, annee=2024, engage=D("0"), realise=D("0"))
    elif argent:
        LigneFinancementFactory(fiche=f, annee=2024, **{argent: D("10")})
    LigneFinancementFactory(fiche=f, annee=2025, type_financeur=COLL, realise=D("99"))  # another year never counts
    assert list(fiches_du_rapport(contrat, 2024)) == ([f] if couverte else [])


# --- Opening ----------------------------------------------------------------------------------------------------


def test_rapport_create_pre_fills_a_section_per_action_of_the_year():
    contrat = signe()
    a = fiche(contrat, "A1-02", statut=StatutFiche.EN_COURS)
    b = fiche(contrat, "A1-10")
    c = fiche(contrat, "A1-03", statut=StatutFiche.TERMINEE)
    fiche(contrat, "A1-04", date_debut=date(2025, 1, 1))  # not this year
    fiche(contrat, "A1-05", statut=StatutFiche.ABANDONNEE)  # abandoned, no money
    rapport = rapport_create(contrat=contrat, annee=2024)
    sections = list(rapport.sections.order_by("fiche__code_tri"))
    assert [(s.fiche, s.avancement, s.recit, s.chiffres_transmis) for s in sections] == [
        (a, AvancementAction.EN_COURS, "", None),
        (c, AvancementAction.TERMINEE, "", None),
        (b, "", "", None),
    ]
    assert rapport.date_limite == date(2025, 3, 31)


def test_sections_completer_adds_only_the_missing_ones_and_not_once_sent():
    contrat = signe()
    fiche(contrat, "A1-01")
    rapport = rapport_create(contrat=contrat, annee=2024)
    assert rapport_sections_completer(rapport=rapport) == []
    nouvelle = fiche(contrat, "A1-02")  # added by an avenant during the year
    assert [s.fiche for s in rapport_sections_completer(rapport=rapport)] == [nouvelle]
    assert rapport_sections_completer(rapport=rapport) == []
    for section in rapport.sections.all():
        section.recit, section.avancement = "Fait.", AvancementAction.EN_COURS
        rapport_section_save(rapport_action=section, version=section.version)
    rapport_transition(rapport=rapport, to=StatutRapport.TRANSMIS)
    fiche(contrat, "A1-03")
    assert rapport_sections_completer(rapport=rapport) == []
    assert rapport.sections.count() == 2


def _ouvrir(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("ouvrir_rapports", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_ouvrir_rapports_opens_the_past_year_once():
    contrat = signe()
    fiche(contrat, "A1-01")
    fiche(contrat, "A1-02")
    en_execution = signe("CLS-2024-D69", statut=StatutContrat.EN_EXECUTION, collectivite=collectivite("D69"))
    signe("CLS-2024-D38", statut=StatutContrat.EN_NEGOCIATION, collectivite=collectivite("D38"))
    signe("CLS-2024-D26", statut=StatutContrat.CLOS, collectivite=collectivite("D26"))
    signe("CDIE-2025-D05", date_debut=date(2025, 1, 1), date_fin=date(2025, 12, 31))  # does not cover 2024

    out, err = _ouvrir("--date", "2025-01-02")
    assert err == ""
    assert "CLS-2024-D05 : rapport 2024 ouvert, 2 section(s)." in out
    assert "CLS-2024-D69 : rapport 2024 ouvert, 0 section(s)." in out
    assert "Exercice 2024 : 2 rapport(s) ouvert(s), 2 section(s) créée(s), 2 contrat(s) examiné(s)." in out
    assert sorted(RapportAnnuel.objects.values_list("contrat__reference", "annee", "statut")) == [
        ("CLS-2024-D05", 2024, StatutRapport.BROUILLON),
        ("CLS-2024-D69", 2024, StatutRapport.BROUILLON),
    ]
    assert RapportAction.objects.filter(rapport__contrat=contrat).count() == 2
    assert en_execution.rapports.get().date_limite == date(2025, 3, 31)

    # Run again (the next day): nothing more.
    out, _ = _ouvrir("--date", "2025-01-03")
    assert "Exercice 2024 : 0 rapport(s) ouvert(s), 0 section(s) créée(s), 2 contrat(s) examiné(s)." in out
    assert RapportAnnuel.objects.count() == 2
    assert RapportAction.objects.count() == 2

    # An action added since: its section is added to the report still in redaction.
    fiche(contrat, "A1-03")
    out, _ = _ouvrir("--date", "2025-01-04")
    assert "CLS-2024-D05 : rapport 2024, 1 section(s) ajoutée(s)." in out
    assert RapportAction.objects.filter(rapport__contrat=contrat).count() == 3


def test_ouvrir_rapports_annee_explicite_et_refus():
    signe()
    out, _ = _ouvrir("--annee", "2025", "--date", "2026-01-15")
    assert "Exercice 2025 : 1 rapport(s) ouvert(s)" in out
    assert RapportAnnuel.objects.get().annee == 2025
    with pytest.raises(CommandError, match="L'exercice 2026 n'est pas écoulé : son rapport s'ouvre à partir du 1er"):
        _ouvrir("--annee", "2026", "--date", "2026-06-01")
    with pytest.raises(CommandError, match="« 31/03/2025 » n'est pas une date : écrivez-la AAAA-MM-JJ"):
        _ouvrir("--date", "31/03/2025")
    out, _ = _ouvrir("--date", "2024-02-01")  # 2023: before the Pacte
    assert out == "2023 est hors de la période du Pacte : aucun rapport à ouvrir.\n"


# --- Writing the sections ---------------------------------------------------------------------------------------


def _rapport_redige(contrat=None, **kwargs) -> RapportAnnuel:
    contrat = contrat or signe()
    f = fiche(contrat, "A1-01")
    LigneFinancementFactory(fiche=f, annee=2024, type_financeur=ETAT, prevu=D("10000"), realise=D("8000"))
    LigneFinancementFactory(fiche=f, annee=2024, type_financeur=COLL, prevu=D("10000"), engage=D("9500.50"))
    rapport = rapport_create(contrat=contrat, annee=2024)
    section = rapport.sections.get()
    section.recit, section.avancement = "Le bus a circulé 40 semaines.", AvancementAction.EN_COURS
    rapport_section_save(rapport_action=section, version=section.version)
    return rapport


@pytest.mark.parametrize(
    ("recit", "avancement", "messages"),
    [
        pytest.param(
            "",
            "",
            ["Action A1-01 : décrivez ce qui a été fait dans l'année.", "Action A1-01 : dites où en est l'action."],
        ),
        pytest.param(" \n ", AvancementAction.EN_COURS, ["Action A1-01 : décrivez ce qui a été fait dans l'année."]),
        pytest.param("Fait.", "", ["Action A1-01 : dites où en est l'action."]),
    ],
)
def test_sending_needs_every_section_written(recit, avancement, messages):
    contrat = signe()
    fiche(contrat, "A1-01")
    rapport = rapport_create(contrat=contrat, annee=2024)
    section = rapport.sections.get()
    section.recit, section.avancement = recit, avancement
    rapport_section_save(rapport_action=section, version=section.version)
    with pytest.raises(ValidationError) as exc:
        rapport_transition(rapport=rapport, to=StatutRapport.TRANSMIS)
    assert exc.value.messages == ["Le rapport 2024 ne peut pas être transmis :", *messages]
    rapport.refresh_from_db()
    assert (rapport.statut, rapport.transmis_le) == (StatutRapport.BROUILLON, None)
    assert rapport.sections.get().chiffres_transmis is None


def test_sending_copies_the_figures_and_they_stay_as_sent():
    contrat = signe()
    rapport = _rapport_redige(contrat)
    f = contrat.fiches.get()
    indicateur = IndicateurFactory(fiche=f, nom="Familles accueillies", unite="familles")
    ValeurIndicateurFactory(indicateur=indicateur, annee=2024, cible=D("120"), realise=D("95"))
    ValeurIndicateurFactory(indicateur=indicateur, annee=2025, cible=D("150"), realise=None)
    rapport_transition(rapport=rapport, to=StatutRapport.TRANSMIS)
    copie = rapport.sections.get().chiffres_transmis
    assert copie == {
        "financeurs": [
            {"libelle": "État", "type_financeur": "etat", "prevu": "10000.00", "engage": None, "realise": "8000.00"},
            {
                "libelle": "Collectivité",
                "type_financeur": "collectivite",
                "prevu": "10000.00",
                "engage": "9500.50",
                "realise": None,
            },
        ],
        "total": {
            "libelle": "Total",
            "type_financeur": "",
            "prevu": "20000.00",
            "engage": "9500.50",
            "realise": "8000.00",
        },
        "indicateurs": [{"nom": "Familles accueillies", "unite": "familles", "cible": "120.00", "realise": "95.00"}],
    }
    assert ChiffresAction.depuis_json(copie) == rapport_chiffres(annee=2024, fiches=[f.pk])[f.pk]

    # The lines change after sending: the copy does not.
    ligne_financement_set(fiche=f, annee=2024, type_financeur=ETAT, realise=D("9000"))
    assert rapport.sections.get().chiffres_transmis == copie
    assert ChiffresAction.depuis_json(copie) != rapport_chiffres(annee=2024, fiches=[f.pk])[f.pk]

    # Sent back and sent again: the copy is taken again.
    rapport_transition(rapport=rapport, to=StatutRapport.A_COMPLETER, observations="Précisez le réalisé.")
    rapport_transition(rapport=rapport, to=StatutRapport.TRANSMIS)
    assert rapport.sections.get().chiffres_transmis["financeurs"][0]["realise"] == "9000.00"


def test_chiffres_json_round_trip_keeps_decimals_exact():
    contrat = signe()
    f = fiche(contrat, "A1-01")
    partenaire = OrganisationFactory(nom="CAF des Hautes-Alpes")
    LigneFinancementFactory(fiche=f, annee=2024, type_financeur=AUTRE, financeur=partenaire, prevu=D("0.10"))
    LigneFinancementFactory(fiche=f, annee=2024, type_financeur=ETAT, prevu=D("0.20"), realise=D("123456789.99"))
    chiffres = rapport_chiffres(annee=2024, fiches=[f.pk])[f.pk]
    assert [m.libelle for m in chiffres.financeurs] == ["État", "CAF des Hautes-Alpes"]
    assert chiffres.total.prevu == D("0.30")
    assert chiffres.total.engage is None
    assert ChiffresAction.depuis_json(chiffres.en_json()) == chiffres
    assert chiffres.en_json()["financeurs"][0]["realise"] == "123456789.99"


@pytest.mark.parametrize(
    ("statut", "message"),
    [
        pytest.param(
            StatutRapport.TRANSMIS,
            "Le rapport 2024 est transmis à la DDETS : il ne se modifie plus, sauf s'il est renvoyé pour compléments.",
            id="transmis",
        ),
        pytest.param(StatutRapport.VALIDE, "Le rapport 2024 est validé : il ne se modifie plus.", id="valide"),
    ],
)
def test_a_report_sent_or_validated_is_not_written(statut, message):
    rapport = _rapport_redige()
    rapport_transition(rapport=rapport, to=StatutRapport.TRANSMIS)
    if statut == StatutRapport.VALIDE:
        rapport_transition(rapport=rapport, to=StatutRapport.VALIDE)
    section = rapport.sections.get()
    avant = (section.recit, section.version)
    section.recit = "Autre chose."
    with pytest.raises(ValidationError) as exc:
        rapport_section_save(rapport_action=section, version=section.version)
    assert exc.value.messages == [message]
    rapport.refresh_from_db()
    rapport.synthese = "Autre synthèse."
    with pytest.raises(ValidationError) as exc:
        rapport_save(rapport_annuel=rapport, version=rapport.version)
    assert exc.value.messages == [message]
    section.refresh_from_db()
    assert (section.recit, section.version) == avant


def test_the_ddets_writes_its_observations_on_a_report_sent():
    rapport = _rapport_redige()
    rapport_transition(rapport=rapport, to=StatutRapport.TRANSMIS)
    rapport.refresh_from_db()
    rapport.observations_ddets = "Premier examen : les montants concordent."
    rapport_save(rapport_annuel=rapport, version=rapport.version)
    rapport.refresh_from_db()
    assert rapport.observations_ddets == "Premier examen : les montants concordent."


def test_a_section_belongs_to_its_report_and_contract():
    rapport = _rapport_redige()
    section = rapport.sections.get()
    ailleurs = fiche(signe("CLS-2024-D69", collectivite=collectivite("D69")), "A1-01")
    with pytest.raises(ValidationError) as exc:
        rapport_section_save(rapport_action=RapportAction(rapport=rapport, fiche=ailleurs, recit="x"))
    assert exc.value.message_dict == {"fiche": ["Cette action n'appartient pas au contrat du rapport."]}
    section.fiche = fiche(rapport.contrat, "A1-09")
    with pytest.raises(ValidationError, match="Une section de rapport ne change ni de rapport ni d'action."):
        rapport_section_save(rapport_action=section, version=section.version)
    with pytest.raises(ValidationError) as exc:
        rapport_section_save(
            rapport_action=RapportAction(rapport=rapport, fiche=rapport.contrat.fiches.get(code="A1-01"))
        )
    assert "Ce rapport a déjà une section pour cette action." in exc.value.messages
    assert RapportAction.objects.count() == 1


def test_a_form_cannot_write_the_figures_sent():
    rapport = _rapport_redige()
    section = rapport.sections.get()
    section.chiffres_transmis = {"financeurs": [], "total": None, "indicateurs": []}
    rapport_section_save(rapport_action=section, version=section.version)
    section.refresh_from_db()
    assert section.chiffres_transmis is None


def test_stale_section_refused():
    rapport = _rapport_redige()
    section = rapport.sections.get()
    vue = section.version
    section.recit = "Première écriture."
    rapport_section_save(rapport_action=section, version=vue)
    section.recit = "Écrite sur une page périmée."
    with pytest.raises(ValidationError, match="pendant votre saisie : rien n'a été enregistré"):
        rapport_section_save(rapport_action=section, version=vue)
    section.refresh_from_db()
    assert section.recit == "Première écriture."


# --- Reminders: the decision ------------------------------------------------------------------------------------

ECHEANCE = date(2025, 3, 31)


@pytest.mark.parametrize(
    ("statut", "jour", "derniere", "avant_envoye", "derniere_retard", "attendu"),
    [
        pytest.param("brouillon", date(2025, 3, 15), None, False, None, None, id="J-16"),
        pytest.param("brouillon", date(2025, 3, 16), None, False, None, NatureRelance.AVANT, id="J-15"),
        pytest.param("brouillon", date(2025, 3, 20), None, False, None, NatureRelance.AVANT, id="J-11-rattrapage"),
        pytest.param("brouillon", date(2025, 3, 31), None, False, None, NatureRelance.AVANT, id="jour-J"),
        pytest.param("brouillon", date(2025, 3, 17), date(2025, 3, 16), True, None, None, id="avant-deja-envoye"),
        pytest.param(
            "brouillon", date(2025, 3, 16), date(2025, 3, 16), False, None, None, id="jamais-deux-fois-le-meme-jour"
        ),
        pytest.param("brouillon", date(2025, 4, 1), date(2025, 3, 16), True, None, NatureRelance.RETARD, id="J+1"),
        pytest.param("brouillon", date(2025, 4, 7), date(2025, 4, 1), True, date(2025, 4, 1), None, id="J+7"),
        pytest.param(
            "brouillon", date(2025, 4, 8), date(2025, 4, 1), True, date(2025, 4, 1), NatureRelance.RETARD, id="J+8"
        ),
        pytest.param(
            "brouillon",
            date(2025, 6, 1),
            date(2025, 4, 1),
            True,
            date(2025, 4, 1),
            NatureRelance.RETARD,
            id="rattrapage",
        ),
        pytest.param("a_completer", date(2025, 4, 2), None, False, None, NatureRelance.RETARD, id="renvoye-en-retard"),
        pytest.param("transmis", date(2025, 3, 16), None, False, None, None, id="transmis-avant"),
        pytest.param("transmis", date(2025, 5, 1), None, False, None, None, id="transmis-apres"),
        pytest.param("valide", date(2025, 5, 1), None, False, None, None, id="valide"),
    ],
)
def test_relance_due(statut, jour, derniere, avant_envoye, derniere_retard, attendu):
    rapport = RapportAnnuel(annee=2024, statut=statut, date_limite=ECHEANCE)
    assert (
        relance_due(
            rapport=rapport,
            aujourd_hui=jour,
            derniere=derniere,
            avant_envoye=avant_envoye,
            derniere_retard=derniere_retard,
        )
        == attendu
    )


def test_relance_due_follows_the_settings(settings):
    settings.PACTE_RAPPEL_JOURS_AVANT = 30
    settings.PACTE_RAPPEL_JOURS_APRES = 2
    rapport = RapportAnnuel(annee=2024, statut="brouillon", date_limite=ECHEANCE)
    kwargs = {"derniere": None, "avant_envoye": False, "derniere_retard": None}
    assert relance_due(rapport=rapport, aujourd_hui=date(2025, 3, 1), **kwargs) == NatureRelance.AVANT
    assert relance_due(rapport=rapport, aujourd_hui=date(2025, 2, 28), **kwargs) is None
    kwargs = {"derniere": date(2025, 4, 1), "avant_envoye": True, "derniere_retard": date(2025, 4, 1)}
    assert relance_due(rapport=rapport, aujourd_hui=date(2025, 4, 2), **kwargs) is None
    assert relance_due(rapport=rapport, aujourd_hui=date(2025, 4, 3), **kwargs) == NatureRelance.RETARD


# --- Reminders: the command -------------------------------------------------------------------------------------


@pytest.fixture
def redacteurs():
    """The Département des Hautes-Alpes' agents: two editors with an address (who get the reminders), an editor
    without one, a reader, an inactive editor; and the DDETS's editor (who does not)."""
    cd05 = OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05"))
    UserFactory(organisation=cd05, username="redacteur1", email="redactrice@hautes-alpes.fr")
    UserFactory(organisation=cd05, username="redacteur2", email="finances@hautes-alpes.fr")
    UserFactory(organisation=cd05, username="sans-adresse", email="")
    UserFactory(organisation=cd05, username="lecteur", role=Role.LECTEUR, email="lecteur@hautes-alpes.fr")
    UserFactory(organisation=cd05, username="parti", is_active=False, email="parti@hautes-alpes.fr")
    UserFactory(username="ddets05", email="ddets@example.gouv.fr")
    return ["finances@hautes-alpes.fr", "redactrice@hautes-alpes.fr"]


def _relancer(jour: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("relancer_rapports", "--date", jour, "--url", "https://pacte.example.gouv.fr/", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_relancer_rapports_before_and_after_the_due_date(redacteurs):
    contrat = signe()
    fiche(contrat, "A1-01")
    rapport = rapport_create(contrat=contrat, annee=2024)

    out, _ = _relancer("2025-03-15")  # 16 days before
    assert (out, len(mail.outbox)) == ("15/03/2025 : 0 message(s) envoyé(s).\n", 0)

    out, _ = _relancer("2025-03-16")  # 15 days before
    assert out == (
        "CLS-2024-D05, rapport 2024 : rappel envoyé à finances@hautes-alpes.fr, redactrice@hautes-alpes.fr.\n"
        "16/03/2025 : 1 message(s) envoyé(s).\n"
    )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == redacteurs
    assert (
        message.subject
        == "Rappel : rapport d'exécution 2024 du contrat CLS-2024-D05 à transmettre d'ici le 31 mars 2025"
    )
    assert "est à transmettre à la DDETS au plus tard le 31 mars 2025, dans 15 jours." in message.body
    assert "https://pacte.example.gouv.fr/contrats/CLS-2024-D05/rapports/2024/" in message.body
    assert "&#x27;" not in message.body and "&#x27;" not in message.subject  # plain text, not escaped
    html, type_ = message.alternatives[0]
    assert type_ == "text/html"
    assert '<a href="https://pacte.example.gouv.fr/contrats/CLS-2024-D05/rapports/2024/">' in html
    assert '<html lang="fr">' in html

    for jour in ("2025-03-16", "2025-03-17", "2025-03-31"):  # same day again, then the days up to the due date
        _relancer(jour)
    assert len(mail.outbox) == 1

    out, _ = _relancer("2025-04-01")  # late: the first day
    assert "CLS-2024-D05, rapport 2024 : relance (retard) envoyé à " in out
    assert (
        mail.outbox[1].subject
        == "En retard : rapport d'exécution 2024 du contrat CLS-2024-D05, attendu le 31 mars 2025"
    )
    assert "il est en retard de 1 jour." in mail.outbox[1].body
    for jour in ("2025-04-01", "2025-04-02", "2025-04-07"):
        _relancer(jour)
    assert len(mail.outbox) == 2
    _relancer("2025-04-08")  # every 7 days
    assert len(mail.outbox) == 3
    assert "il est en retard de 8 jours." in mail.outbox[2].body

    assert list(rapport.relances.values_list("nature", "envoyee_le", "destinataires")) == [
        (NatureRelance.AVANT, date(2025, 3, 16), "\n".join(redacteurs)),
        (NatureRelance.RETARD, date(2025, 4, 1), "\n".join(redacteurs)),
        (NatureRelance.RETARD, date(2025, 4, 8), "\n".join(redacteurs)),
    ]


def test_no_reminder_once_sent_and_again_when_sent_back(redacteurs):
    rapport = _rapport_redige()
    rapport_transition(rapport=rapport, to=StatutRapport.TRANSMIS)
    for jour in ("2025-03-16", "2025-04-01", "2025-04-20"):
        _relancer(jour)
    assert mail.outbox == []
    rapport_transition(rapport=rapport, to=StatutRapport.A_COMPLETER, observations="Joignez le bilan du bus.")
    _relancer("2025-04-21")
    assert len(mail.outbox) == 1
    assert "Où il en est : renvoyé pour compléments." in mail.outbox[0].body
    assert "La DDETS vous l'a renvoyé pour compléments :\nJoignez le bilan du bus." in mail.outbox[0].body
    rapport_transition(rapport=rapport, to=StatutRapport.TRANSMIS)
    rapport_transition(rapport=rapport, to=StatutRapport.VALIDE)
    _relancer("2025-05-21")
    assert len(mail.outbox) == 1


def test_no_recipient_nothing_recorded():
    contrat = signe()
    rapport_create(contrat=contrat, annee=2024)
    out, err = _relancer("2025-03-20")
    assert err == (
        "CLS-2024-D05, rapport 2024 : rappel non envoyé : aucun éditeur de la collectivité n'a d'adresse "
        "électronique.\n"
    )
    assert out == "20/03/2025 : 0 message(s) envoyé(s).\n"
    assert mail.outbox == []
    assert not RelanceRapport.objects.exists()


def test_an_e_mail_that_fails_records_nothing(redacteurs, monkeypatch):
    rapport_create(contrat=signe(), annee=2024)

    def panne(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", panne)
    out, err = _relancer("2025-03-20")
    assert "rappel non envoyé (ConnectionRefusedError : [Errno 111] Connection refused) ; nouvel essai" in err
    assert not RelanceRapport.objects.exists()
    monkeypatch.undo()
    _relancer("2025-03-20")
    assert RelanceRapport.objects.count() == 1
    assert len(mail.outbox) == 1


def test_relancer_refuses_a_bad_date():
    with pytest.raises(CommandError, match="« demain » n'est pas une date"):
        _relancer("demain")


def test_reminders_of_several_reports_in_a_run(redacteurs):
    """One run reminds each report that calls for it, whatever the number, and lists them in due-date order."""
    cls = signe()
    fiche(cls, "A1-01")
    rapport_create(contrat=cls, annee=2024)
    RapportAnnuel.objects.filter(contrat=cls).update(date_limite=date(2025, 3, 20))
    RapportAnnuel.objects.create(
        contrat=signe("CDIE-2024-D05"), annee=2024, date_limite=date(2025, 3, 31), statut=StatutRapport.A_COMPLETER
    )
    out, _ = _relancer("2025-03-25")
    assert out.splitlines() == [
        "CLS-2024-D05, rapport 2024 : relance (retard) envoyé à finances@hautes-alpes.fr, redactrice@hautes-alpes.fr.",
        "CDIE-2024-D05, rapport 2024 : rappel envoyé à finances@hautes-alpes.fr, redactrice@hautes-alpes.fr.",
        "25/03/2025 : 2 message(s) envoyé(s).",
    ]
    assert [m.subject.split(" :")[0] for m in mail.outbox] == ["En retard", "Rappel"]


# --- Back-office: the sections inline -----------------------------------------------------------------------------


def test_back_office_sections_written_while_in_redaction_then_read_only(client):
    from django.urls import reverse

    rapport = _rapport_redige()
    agent = UserFactory(organisation=OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05")))
    client.force_login(agent)
    change = reverse("admin:financement_rapportannuel_change", args=[rapport.pk])
    html = client.get(change).content.decode()
    assert 'name="sections-0-recit"' in html and 'name="sections-0-avancement"' in html
    assert "Le bus a circulé 40 semaines." in html

    data = {
        "synthese": "Synthèse écrite dans le back-office.",
        "pacte_version": rapport.version,
        "pacte_fige": "",
        "sections-TOTAL_FORMS": "1",
        "sections-INITIAL_FORMS": "1",
        "sections-MIN_NUM_FORMS": "0",
        "sections-MAX_NUM_FORMS": "1000",
        "sections-0-id": rapport.sections.get().pk,
        "sections-0-rapport": rapport.pk,
        "sections-0-avancement": AvancementAction.TERMINEE,
        "sections-0-recit": "Récit réécrit dans le back-office.",
        "sections-0-pacte_version": rapport.sections.get().version,
        "sections-0-pacte_fige": "",
    }
    response = client.post(change, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    section = rapport.sections.get()
    assert (section.recit, section.avancement) == ("Récit réécrit dans le back-office.", AvancementAction.TERMINEE)
    assert section.history.first().history_user == agent

    rapport_transition(rapport=rapport, to=StatutRapport.TRANSMIS)
    html = client.get(change).content.decode()
    assert 'name="sections-0-recit"' not in html
    assert "Récit réécrit dans le back-office." in html


def test_back_office_returning_and_validating_are_the_ddets_s(client):
    from django.urls import reverse

    rapport = _rapport_redige()
    rapport_transition(rapport=rapport, to=StatutRapport.TRANSMIS)
    liste = reverse("admin:financement_rapportannuel_changelist")
    agent = UserFactory(organisation=OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05")))
    ddets = UserFactory(
        organisation=OrganisationFactory(ddets=True, departement=rapport.contrat.collectivite.departements.first())
    )
    for user, attendu in ((agent, set()), (ddets, {"valider", "renvoyer"})):
        client.force_login(user)
        actions = set(client.get(liste).context["cl"].model_admin.get_actions(client.get(liste).wsgi_request))
        assert actions & {"valider", "renvoyer"} == attendu

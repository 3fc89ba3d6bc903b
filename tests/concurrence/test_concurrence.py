"""The write path under concurrency: races replayed with real PostgreSQL connections, one per thread.

Each race is forced, not hoped for: the first writer runs in a transaction that stays open (its row locks
held) until the second writer, in another thread and on another connection, is seen waiting for one of
those locks in PostgreSQL (``pg_blocking_pids``); only then does the first one commit. So every test
replays exactly the interleaving it names, and checks who waited, who won and what the loser was told.

The first three races come from a tester's report before the write path was reworked:

1. an edit of a planned amount and the signature of the contract: they serialize on the contract's row,
   in either order, and a signed contract never ends with its parity broken;
2. two agents saving the same page: the second one, shown before the first one's save, is refused with
   a French message naming who changed what, and overwrites nothing (no lost update);
3. two creations of the same thing (a fiche code, a contract reference, a funding line): one succeeds,
   the other gets a French error, never an ``IntegrityError`` or a 500;
4. lock order: two writers that lock the same rows in opposite orders would deadlock (PostgreSQL kills
   one, the agent gets a 500). Every contractual writer locks the contract first, then its row, and
   locks only its own row (``FOR UPDATE OF``): these tests replay the interleavings that deadlocked
   before that rule (a status change against a fiche edit, an execution entry against a planned amount).

These tests carry the ``postgresql`` marker: on SQLite (no row locks) ``conftest.py`` deselects them.
The tests without it replay the same stories one request after the other (a form shown before the
signature or before another agent's save, posted after it): they run on both databases.
"""

from __future__ import annotations

import html
import re
import threading
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client

from actions.enums import NatureAction, StatutFiche
from actions.models import FicheAction
from actions.services import fiche_create, fiche_transition, fiche_update
from contrats.enums import PartieSignataire, StatutContrat, TypeContrat
from contrats.models import Contrat
from contrats.services import contrat_create, contrat_sign, contrat_update
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement
from financement.regles import parite_violations
from financement.services import ligne_financement_delete, ligne_financement_save, ligne_financement_set
from pacte.services import ConflictError
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    SignataireFactory,
    UserFactory,
    axe,
    collectivite,
    departement,
)
from tests.test_admin import as_post_data, row, url

pytestmark = pytest.mark.django_db

#: Seconds before a race that does not happen as planned fails the test (the machine is shared).
DELAI = 60

ETAT, COLLECTIVITE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE
SIGNATURE = date(2024, 3, 4)


def sur_postgresql(test):
    """Two connections of a transactional test; deselected on SQLite (see ``conftest.py``)."""
    return pytest.mark.postgresql(pytest.mark.django_db(transaction=True, serialized_rollback=True)(test))


# --- The race -------------------------------------------------------------------------------------------


@dataclass
class Issue:
    """What one writer of a race returned or raised, and whether it waited for another writer's lock."""

    valeur: object = None
    erreur: Exception | None = None
    a_attendu: bool = False


def _pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _attend_un_verrou(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [pid])
        return cursor.fetchone()[0]


def course(premier, *suivants) -> list[Issue]:
    """Runs ``premier`` in a transaction kept open while each of ``suivants`` runs in its own thread.

    Each of ``suivants`` starts once the previous one waits for a lock (or has finished); when the last
    one waits (or has finished), ``premier``'s transaction commits (rolls back if it raised) and the
    waiting writers go on. Every thread has its own connection, closed at the thread's end. Requests
    of ``django.test.Client`` never overlap here (the first one has returned before the others start),
    so the client's global signals (rendered templates, ``close_old_connections``) stay per request.
    """
    issues = [Issue() for _ in range(1 + len(suivants))]
    tient, libere = threading.Event(), threading.Event()

    def tenir():
        issue = issues[0]
        try:
            with transaction.atomic():
                try:
                    issue.valeur = premier()
                except Exception as error:
                    issue.erreur = error
                    transaction.set_rollback(True)
                tient.set()
                libere.wait(DELAI)
        except Exception as error:
            issue.erreur = issue.erreur or error
        finally:
            tient.set()
            connection.close()

    def suivre(fonction, issue, pid, demarre, fini):
        try:
            pid.append(_pid())
            demarre.set()
            issue.valeur = fonction()
        except Exception as error:
            issue.erreur = error
        finally:
            demarre.set()
            fini.set()
            connection.close()

    threads = [threading.Thread(target=tenir)]
    threads[0].start()
    try:
        assert tient.wait(DELAI), "le premier écrivain n'a pas fini à temps"
        for fonction, issue in zip(suivants, issues[1:], strict=True):
            pid, demarre, fini = [], threading.Event(), threading.Event()
            thread = threading.Thread(target=suivre, args=(fonction, issue, pid, demarre, fini))
            threads.append(thread)
            thread.start()
            assert demarre.wait(DELAI)
            limite = time.monotonic() + DELAI
            while not fini.is_set():
                if pid and _attend_un_verrou(pid[0]):
                    issue.a_attendu = True
                    break
                assert time.monotonic() < limite, "un écrivain ni bloqué ni fini : la course n'a pas eu lieu"
                time.sleep(0.01)
    finally:
        libere.set()
        for thread in threads:
            thread.join(DELAI)
    assert not any(thread.is_alive() for thread in threads), "un écrivain est resté bloqué"
    return issues


# --- Data and helpers -------------------------------------------------------------------------------------


@pytest.fixture
def editrice(ddets_05):
    """A second editor of the same DDETS: the other agent of the races."""
    return UserFactory(username="editrice05", organisation=ddets_05)


@pytest.fixture
def prefecture(db):
    """The préfecture of the Hautes-Alpes, which records the signatures."""
    return UserFactory(
        username="prefecture05", organisation=OrganisationFactory(prefecture=True, departement=departement("05"))
    )


@pytest.fixture
def pret(db):
    """A CLS of the Hautes-Alpes ready for signature: one validated fiche at parity in 2024 (10 000 € from
    each party), the State's ceiling, both signatories with their dates."""
    contrat = ContratFactory(
        collectivite=collectivite("D05"), reference="CLS-2024-D05", statut=StatutContrat.PRET_SIGNATURE
    )
    fiche = FicheActionFactory(contrat=contrat, code="A1-01", intitule="Bus des familles", validee=True)
    etat = LigneFinancementFactory(fiche=fiche, type_financeur=ETAT, prevu=Decimal("10000.00"))
    part = LigneFinancementFactory(fiche=fiche, type_financeur=COLLECTIVITE, prevu=Decimal("10000.00"))
    PlafondFactory(contrat=contrat)
    SignataireFactory(contrat=contrat, date_signature=date(2024, 3, 1))
    SignataireFactory(
        contrat=contrat, partie=PartieSignataire.COLLECTIVITE, nom="B. Présidente", date_signature=SIGNATURE
    )
    return SimpleNamespace(contrat=contrat, fiche=fiche, etat=etat, collectivite=part)


@pytest.fixture
def en_negociation(contrat_05):
    """A fiche of a CLS in negotiation, at parity in 2024: the page two agents open at the same time."""
    fiche = FicheActionFactory(
        contrat=contrat_05, code="A1-01", intitule="Bus des familles", description="Un bus itinérant."
    )
    etat = LigneFinancementFactory(fiche=fiche, type_financeur=ETAT, prevu=Decimal("10000.00"))
    LigneFinancementFactory(fiche=fiche, type_financeur=COLLECTIVITE, prevu=Decimal("10000.00"))
    return SimpleNamespace(contrat=contrat_05, fiche=fiche, etat=etat)


def connecte(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def texte(response) -> str:
    """The page as a reader sees its messages (entities decoded)."""
    return html.unescape(response.content.decode())


def statut(contrat) -> str:
    return Contrat.objects.values_list("statut", flat=True).get(pk=contrat.pk)


def prevu(ligne) -> Decimal:
    return LigneFinancement.objects.values_list("prevu", flat=True).get(pk=ligne.pk)


def lignes(fiche) -> set[tuple]:
    return set(LigneFinancement.objects.filter(fiche=fiche).values_list("annee", "type_financeur", "prevu"))


def assert_signe_donc_a_parite(contrat) -> None:
    """The invariant of race 1: whatever the order, a signed contract respects parity."""
    if statut(contrat) == StatutContrat.SIGNE:
        assert parite_violations(FicheAction.objects.filter(contrat=contrat)) == []


def messages_de(error: Exception) -> list[str]:
    assert isinstance(error, ValidationError), repr(error)
    return error.messages


def signer(contrat, by):
    return lambda: contrat_sign(contrat=Contrat.objects.get(pk=contrat.pk), signed_on=SIGNATURE, by=by)


def _avec(obj, **values):
    """``obj`` with ``values`` set, as a submitted form leaves its instance."""
    for name, value in values.items():
        setattr(obj, name, value)
    return obj


def fiche(pk) -> FicheAction:
    return FicheAction.objects.select_related("contrat").get(pk=pk)


SIGNE_PENDANT = "a été signé pendant votre saisie"
PAR_AVENANT = "ses données contractuelles ne changent plus que par un avenant"


# --- 1. An edit of a planned amount and the signature --------------------------------------------------------


@sur_postgresql
@pytest.mark.parametrize(
    ("montant", "signe"),
    [
        pytest.param("9000.00", True, id="parite-tenue"),
        pytest.param("10001.00", True, id="1-euro-de-plus-dans-la-tolerance"),
        pytest.param("10001.01", False, id="1-centime-au-dela"),
        pytest.param("15000.00", False, id="parite-rompue"),
    ],
)
def test_le_prevu_change_puis_la_signature_recontrole_la_parite(pret, editeur, prefecture, montant, signe):
    edition, signature = course(
        lambda: ligne_financement_set(
            fiche=fiche(pret.fiche.pk), annee=2024, type_financeur=ETAT, prevu=Decimal(montant), by=editeur
        ),
        signer(pret.contrat, prefecture),
    )
    assert edition.erreur is None
    assert prevu(pret.etat) == Decimal(montant)
    if signe:
        assert signature.erreur is None
        assert statut(pret.contrat) == StatutContrat.SIGNE
    else:
        messages = messages_de(signature.erreur)
        assert messages[0] == "Le contrat CLS-2024-D05 ne peut pas être signé :"
        assert any(m.startswith("Fiche A1-01, 2024 : la part prévue de l'État") for m in messages), messages
        assert statut(pret.contrat) == StatutContrat.PRET_SIGNATURE
    assert_signe_donc_a_parite(pret.contrat)
    assert signature.a_attendu  # the signature read the amounts only once the edit had committed


ECRITURES_CONTRACTUELLES = {
    "prevu-de-l-etat": lambda f, by: ligne_financement_set(
        fiche=f, annee=2024, type_financeur=ETAT, prevu=Decimal("15000.00"), by=by
    ),
    "nouvelle-ligne": lambda f, by: ligne_financement_set(
        fiche=f, annee=2025, type_financeur=ETAT, prevu=Decimal("5000.00"), by=by
    ),
    "ligne-du-formulaire": lambda f, by: ligne_financement_save(
        ligne_financement=_avec(f.financements.get(type_financeur=ETAT), prevu=Decimal("15000.00")), by=by
    ),
    "suppression-de-la-part-collectivite": lambda f, by: ligne_financement_delete(
        ligne_financement=f.financements.get(type_financeur=COLLECTIVITE), by=by
    ),
    "intitule-de-la-fiche": lambda f, by: fiche_update(fiche=f, intitule="Bus des familles et des aînés", by=by),
}


@sur_postgresql
@pytest.mark.parametrize("ecriture", ECRITURES_CONTRACTUELLES)
def test_la_signature_d_abord_puis_une_ecriture_contractuelle_est_refusee(pret, editeur, prefecture, ecriture):
    avant = (lignes(pret.fiche), FicheAction.objects.values_list("intitule", flat=True).get(pk=pret.fiche.pk))
    signature, edition = course(
        signer(pret.contrat, prefecture),
        lambda: ECRITURES_CONTRACTUELLES[ecriture](fiche(pret.fiche.pk), editeur),
    )
    assert signature.erreur is None
    assert messages_de(edition.erreur) == [f"Le contrat CLS-2024-D05 est signé : {PAR_AVENANT}."]
    assert (lignes(pret.fiche), FicheAction.objects.values_list("intitule", flat=True).get(pk=pret.fiche.pk)) == avant
    assert statut(pret.contrat) == StatutContrat.SIGNE
    assert_signe_donc_a_parite(pret.contrat)
    assert edition.a_attendu  # it read the status only once the signature had committed


def _signer_dans_l_admin(client, contrat):
    return client.post(
        url(Contrat),
        # "post": the confirmation page's answer; "date_signature" left empty: the last signatory's date.
        {"action": "enregistrer_signature", "_selected_action": [contrat.pk], "post": "yes", "date_signature": ""},
        follow=True,
    )


@sur_postgresql
def test_admin_le_prevu_est_enregistre_puis_la_prefecture_signe(pret, editeur, prefecture):
    agent, prefet = connecte(editeur), connecte(prefecture)
    data = as_post_data(agent.get(url(pret.etat, "change")))
    data["prevu"] = "15000.00"
    edition, signature = course(
        lambda: agent.post(url(pret.etat, "change"), data),
        lambda: _signer_dans_l_admin(prefet, pret.contrat),
    )
    assert edition.erreur is None and signature.erreur is None
    assert edition.valeur.status_code == 302
    page = texte(signature.valeur)
    assert "Le contrat CLS-2024-D05 ne peut pas être signé :" in page
    assert "Fiche A1-01, 2024 : la part prévue de l'État" in page
    assert "signé(s)" not in page
    assert (statut(pret.contrat), prevu(pret.etat)) == (StatutContrat.PRET_SIGNATURE, Decimal("15000.00"))
    assert signature.a_attendu


def _page_et_donnees(client, pret, formulaire: str, montant: str):
    """The change page of the State's 2024 line (``ligne``) or of its fiche (``fiche``, inline row), shown
    now, and what the agent sends back with a new planned amount."""
    obj = pret.etat if formulaire == "ligne" else pret.fiche
    data = as_post_data(client.get(url(obj, "change")))
    data["prevu" if formulaire == "ligne" else f"{row(data, 'financements', pret.etat)}-prevu"] = montant
    return url(obj, "change"), data


@sur_postgresql
@pytest.mark.parametrize("formulaire", ["ligne", "fiche"])
def test_admin_la_prefecture_signe_pendant_que_le_prevu_est_enregistre(pret, editeur, prefecture, formulaire):
    agent, prefet = connecte(editeur), connecte(prefecture)
    adresse, data = _page_et_donnees(agent, pret, formulaire, "15000.00")
    signature, edition = course(
        lambda: _signer_dans_l_admin(prefet, pret.contrat),
        lambda: agent.post(adresse, data),
    )
    assert signature.erreur is None and edition.erreur is None
    assert "1 contrat(s) signé(s)." in texte(signature.valeur)
    assert edition.valeur.status_code == 200  # the form again, with the refusal
    page_html = texte(edition.valeur)
    assert f"Le contrat CLS-2024-D05 {SIGNE_PENDANT}" in page_html
    assert PAR_AVENANT in page_html
    assert "avec succès" not in page_html
    assert (statut(pret.contrat), prevu(pret.etat)) == (StatutContrat.SIGNE, Decimal("10000.00"))
    assert_signe_donc_a_parite(pret.contrat)
    assert edition.a_attendu


@pytest.mark.parametrize("formulaire", ["ligne", "fiche"])
def test_admin_une_page_affichee_avant_la_signature_et_envoyee_apres_est_refusee(pret, editeur, prefecture, formulaire):
    agent = connecte(editeur)
    adresse, data = _page_et_donnees(agent, pret, formulaire, "15000.00")
    contrat_sign(contrat=pret.contrat, signed_on=SIGNATURE, by=prefecture)
    response = agent.post(adresse, data)
    assert response.status_code == 200
    page_html = texte(response)
    assert f"Le contrat CLS-2024-D05 {SIGNE_PENDANT}" in page_html
    assert "Rien n'a été enregistré" in page_html
    assert "avec succès" not in page_html
    assert prevu(pret.etat) == Decimal("10000.00")
    assert_signe_donc_a_parite(pret.contrat)


# --- 2. Two agents, one page: no lost update ---------------------------------------------------------------


def _deux_pages(en_negociation, editeur, editrice):
    """Both agents open the fiche's page; the first changes its title and its State amount for 2024, the
    second (whose page is now stale) its description."""
    agent_1, agent_2 = connecte(editeur), connecte(editrice)
    adresse = url(en_negociation.fiche, "change")
    data_1 = as_post_data(agent_1.get(adresse))
    data_2 = as_post_data(agent_2.get(adresse))
    data_1["intitule"] = "Bus des familles itinérant"
    data_1[f"{row(data_1, 'financements', en_negociation.etat)}-prevu"] = "12000.00"
    data_2["description"] = "Une description qui écraserait le reste."
    return (
        lambda: agent_1.post(adresse, data_1),
        lambda: agent_2.post(adresse, data_2),
    )


def _rien_d_ecrase(en_negociation, editrice) -> None:
    en_negociation.fiche.refresh_from_db()
    assert (en_negociation.fiche.intitule, en_negociation.fiche.description) == (
        "Bus des familles itinérant",
        "Un bus itinérant.",
    )
    assert prevu(en_negociation.etat) == Decimal("12000.00")
    assert not en_negociation.fiche.history.filter(history_user=editrice).exists()


def _conflit_nomme(response) -> None:
    assert response.status_code == 200
    page = texte(response)
    assert "Fiche action « A1-01 – Bus des familles itinérant » a été modifié (intitulé) par editeur05" in page
    assert "pendant votre saisie : rien n'a été enregistré" in page
    assert "avec succès" not in page


@sur_postgresql
def test_admin_deux_agents_enregistrent_la_meme_fiche_en_meme_temps(en_negociation, editeur, editrice):
    premier, second = course(*_deux_pages(en_negociation, editeur, editrice))
    assert premier.erreur is None and second.erreur is None
    assert premier.valeur.status_code == 302
    _conflit_nomme(second.valeur)
    _rien_d_ecrase(en_negociation, editrice)
    assert second.a_attendu


def test_admin_une_page_perimee_n_ecrase_rien(en_negociation, editeur, editrice):
    premier, second = _deux_pages(en_negociation, editeur, editrice)
    assert premier().status_code == 302
    _conflit_nomme(second())
    _rien_d_ecrase(en_negociation, editrice)


def _fiche_et_version(en_negociation):
    f = fiche(en_negociation.fiche.pk)
    return f, f.version


def _ligne(en_negociation):
    ligne = LigneFinancement.objects.select_related("fiche__contrat").get(pk=en_negociation.etat.pk)
    return ligne, ligne.version


def _contrat(en_negociation):
    contrat = Contrat.objects.get(pk=en_negociation.contrat.pk)
    return contrat, contrat.version


#: For each object: how an agent loads it, the first agent's change, the second agent's change (both made
#: from the same version), how the conflict names the object and the changed field, and what is read back.
MISES_A_JOUR = {
    "fiche": (
        _fiche_et_version,
        lambda f, v, by: fiche_update(fiche=f, intitule="Bus des familles itinérant", version=v, by=by),
        lambda f, v, by: fiche_update(fiche=f, description="Écrasée ?", version=v, by=by),
        ("Fiche action « A1-01 – ", "intitulé"),
        lambda n: FicheAction.objects.values_list("intitule", "description").get(pk=n.fiche.pk),
        ("Bus des familles itinérant", "Un bus itinérant."),
    ),
    "ligne": (
        _ligne,
        lambda ligne, v, by: ligne_financement_save(
            ligne_financement=_avec(ligne, prevu=Decimal("12000.00")), version=v, by=by
        ),
        # Execution data only: no lock on the contract, the line's version alone refuses it.
        lambda ligne, v, by: ligne_financement_save(
            ligne_financement=_avec(ligne, engage=Decimal("500.00")), version=v, by=by
        ),
        ("Ligne de financement « A1-01 – 2024 – État »", "prévu"),
        lambda n: LigneFinancement.objects.values_list("prevu", "engage").get(pk=n.etat.pk),
        (Decimal("12000.00"), None),
    ),
    "contrat": (
        _contrat,
        lambda c, v, by: contrat_update(contrat=c, titre="CLS des Hautes-Alpes", version=v, by=by),
        lambda c, v, by: contrat_update(contrat=c, titre="Contrat des Hautes-Alpes", version=v, by=by),
        ("Contrat « CLS-2024-D05", "titre imprimé"),
        lambda n: Contrat.objects.values_list("titre", flat=True).get(pk=n.contrat.pk),
        "CLS des Hautes-Alpes",
    ),
}


@sur_postgresql
@pytest.mark.parametrize("objet", MISES_A_JOUR)
def test_deux_mises_a_jour_de_la_meme_version_la_seconde_est_refusee(en_negociation, editeur, editrice, objet):
    charger, premiere, seconde, (nom, changement), relire, attendu = MISES_A_JOUR[objet]
    vue_1, vue_2 = charger(en_negociation), charger(en_negociation)  # both shown the same version
    un, deux = course(
        lambda: premiere(*vue_1, editeur),
        lambda: seconde(*vue_2, editrice),
    )
    assert un.erreur is None
    assert isinstance(deux.erreur, ConflictError), repr(deux.erreur)
    (message,) = deux.erreur.messages
    assert message.startswith(nom), message
    nommes = re.search(r"a été modifié \((.*)\) par editeur05 le ", message)
    assert nommes and changement in nommes[1].split(", "), message
    assert "pendant votre saisie : rien n'a été enregistré" in message
    assert relire(en_negociation) == attendu
    assert deux.a_attendu


def test_le_conflit_ne_nomme_que_ce_qui_a_change(editeur, editrice):
    contrat = contrat_create(
        collectivite=collectivite("D05"),
        type_contrat=TypeContrat.CLS_DEPARTEMENT,
        date_debut=date(2025, 1, 1),
        date_fin=date(2027, 12, 31),
        by=editeur,
    )
    vue = Contrat.objects.get(pk=contrat.pk)
    contrat_update(
        contrat=Contrat.objects.get(pk=contrat.pk), titre="CLS des Hautes-Alpes", version=vue.version, by=editeur
    )
    with pytest.raises(ConflictError) as refus:
        contrat_update(contrat=vue, titre="Contrat des Hautes-Alpes", version=vue.version, by=editrice)
    assert "a été modifié (titre imprimé) par editeur05 le " in refus.value.messages[0]


# --- 3. Duplicates racing ----------------------------------------------------------------------------------


def _nouvelle_fiche(contrat_pk, code):
    contrat = Contrat.objects.get(pk=contrat_pk)
    return fiche_create(
        contrat=contrat,
        code=code,
        intitule="Bus des familles",
        axe=axe(1),
        nature=NatureAction.NOUVELLE,
        porteur=OrganisationFactory(),
        date_debut=date(2024, 1, 1),
        date_fin=date(2027, 12, 31),
    )


def _nouveau_contrat_d69(by):
    return contrat_create(
        collectivite=collectivite("D69"),
        type_contrat=TypeContrat.CLS_DEPARTEMENT,
        date_debut=date(2025, 1, 1),
        date_fin=date(2027, 12, 31),
        by=by,
    )


#: What save_validated says of a duplicate the database refused without naming it.
DOUBLON = "Cette saisie ferait un doublon ou une incohérence avec un enregistrement existant : rien n'a été enregistré."

#: Two writers create the same thing: how, how many there are afterwards, and the loser's message (one of).
DOUBLONS = {
    # No lock to wait for: the database's unique index refuses the second INSERT (an IntegrityError, turned
    # into French by save_validated). Naming the field is pinned by test_un_doublon_refuse_par_la_base_nomme…
    "contrat-meme-reference": (
        lambda n, by: _nouveau_contrat_d69(by),
        lambda n: Contrat.objects.filter(reference="CLS-2025-D69").count(),
        ("référence", DOUBLON),
    ),
    "fiche-meme-code": (
        lambda n, by: _nouvelle_fiche(n.contrat.pk, "A1-05"),
        lambda n: FicheAction.objects.filter(contrat=n.contrat, code="A1-05").count(),
        ("Ce code de fiche existe déjà dans le contrat.",),
    ),
    "ligne-meme-annee-meme-financeur": (
        lambda n, by: ligne_financement_save(
            ligne_financement=LigneFinancement(
                fiche=fiche(n.fiche.pk), annee=2025, type_financeur=ETAT, prevu=Decimal("3000.00")
            ),
            by=by,
        ),
        lambda n: LigneFinancement.objects.filter(fiche=n.fiche, annee=2025, type_financeur=ETAT).count(),
        ("Ce financeur a déjà une ligne pour cette action et cette année.",),
    ),
}


@sur_postgresql
@pytest.mark.parametrize("doublon", DOUBLONS)
def test_deux_creations_du_meme_objet_une_seule_passe(en_negociation, editeur, editrice, doublon):
    creer, compter, message = DOUBLONS[doublon]
    un, deux = course(lambda: creer(en_negociation, editeur), lambda: creer(en_negociation, editrice))
    assert un.erreur is None
    assert compter(en_negociation) == 1
    messages = messages_de(deux.erreur)  # a French ValidationError, not an IntegrityError
    assert any(attendu.lower() in m.lower() for m in messages for attendu in message), messages
    assert deux.a_attendu


@sur_postgresql
def test_un_doublon_refuse_par_la_base_nomme_son_champ(editeur, editrice):
    un, deux = course(lambda: _nouveau_contrat_d69(editeur), lambda: _nouveau_contrat_d69(editrice))
    assert un.erreur is None
    assert any("référence" in m.lower() for m in messages_de(deux.erreur)), deux.erreur


@sur_postgresql
def test_deux_saisies_de_la_meme_ligne_par_le_service_set_se_succedent(en_negociation, editeur, editrice):
    """``ligne_financement_set`` creates or updates: racing, the second one updates the line the first created."""

    def saisir(montant, by):
        return lambda: ligne_financement_set(
            fiche=fiche(en_negociation.fiche.pk), annee=2025, type_financeur=ETAT, prevu=Decimal(montant), by=by
        )

    un, deux = course(saisir("3000.00", editeur), saisir("4000.00", editrice))
    assert (un.erreur, deux.erreur) == (None, None)
    assert list(
        LigneFinancement.objects.filter(fiche=en_negociation.fiche, annee=2025).values_list("type_financeur", "prevu")
    ) == [(ETAT, Decimal("4000.00"))]
    assert deux.a_attendu


@sur_postgresql
def test_admin_deux_fiches_du_meme_code_en_meme_temps(en_negociation, editeur, editrice):
    porteur = OrganisationFactory()
    data = {
        "contrat": en_negociation.contrat.pk,
        "code": "A1-05",
        "intitule": "Médiation numérique",
        "axe": axe(1).pk,
        "nature": "nouvelle",
        "porteur": porteur.pk,
        "date_debut": "2024-01-01",
        "date_fin": "2027-12-31",
        "territoire_departement_entier": "on",
    }
    agent_1, agent_2 = connecte(editeur), connecte(editrice)
    un, deux = course(
        lambda: agent_1.post(url(FicheAction, "add"), data),
        lambda: agent_2.post(url(FicheAction, "add"), data),
    )
    assert un.erreur is None and deux.erreur is None
    assert un.valeur.status_code == 302
    assert deux.valeur.status_code == 200
    assert "Ce code de fiche existe déjà dans le contrat." in texte(deux.valeur)
    assert FicheAction.objects.filter(contrat=en_negociation.contrat, code="A1-05").count() == 1
    assert deux.a_attendu


@sur_postgresql
def test_admin_deux_contrats_de_la_meme_reference_en_meme_temps(editeur, editrice):
    data = {
        "type_contrat": TypeContrat.CLS_DEPARTEMENT,
        "collectivite": collectivite("D05").pk,
        "axes": [axe(1).pk, axe(3).pk, axe(4).pk],
        "date_debut": "2025-01-01",
        "date_fin": "2027-12-31",
    }
    agent_1, agent_2 = connecte(editeur), connecte(editrice)
    un, deux = course(
        lambda: agent_1.post(url(Contrat, "add"), data),
        lambda: agent_2.post(url(Contrat, "add"), data),
    )
    assert un.erreur is None and deux.erreur is None  # no IntegrityError, no 500
    assert un.valeur.status_code == 302
    assert deux.valeur.status_code == 200
    page = texte(deux.valeur)
    assert "référence" in page.lower() or DOUBLON in page
    assert "avec succès" not in page
    assert Contrat.objects.filter(reference="CLS-2025-D05").count() == 1
    assert deux.a_attendu


@sur_postgresql
def test_admin_deux_lignes_du_meme_financeur_ajoutees_en_meme_temps(en_negociation, editeur, editrice):
    adresse = url(en_negociation.fiche, "change")
    agent_1, agent_2 = connecte(editeur), connecte(editrice)
    envois = []
    for agent in (agent_1, agent_2):
        data = as_post_data(agent.get(adresse))
        n = int(data["financements-TOTAL_FORMS"])
        data["financements-TOTAL_FORMS"] = n + 1
        data.update(
            {
                f"financements-{n}-annee": "2025",
                f"financements-{n}-type_financeur": ETAT,
                f"financements-{n}-financeur": "",
                f"financements-{n}-prevu": "3000.00",
                f"financements-{n}-engage": "",
                f"financements-{n}-realise": "",
            }
        )
        envois.append((agent, data))
    un, deux = course(*(lambda a=agent, d=data: a.post(adresse, d) for agent, data in envois))
    assert un.erreur is None and deux.erreur is None
    assert un.valeur.status_code == 302
    assert deux.valeur.status_code == 200
    assert "Ce financeur a déjà une ligne pour cette action et cette année." in texte(deux.valeur)
    assert LigneFinancement.objects.filter(fiche=en_negociation.fiche, annee=2025, type_financeur=ETAT).count() == 1
    assert deux.a_attendu


# --- Lock order -------------------------------------------------------------------------------------------

#: Writers that lock the contract's row first, then a row of the fiche (``ensure_modifiable``, then the
#: version check or the new line's foreign key).
ECRITURES_SUR_LA_FICHE = {
    "fiche-enregistree": lambda pk, version, by: fiche_update(
        fiche=fiche(pk), intitule="Bus des familles itinérant", version=version, by=by
    ),
    "ligne-ajoutee": lambda pk, version, by: ligne_financement_set(
        fiche=fiche(pk), annee=2025, type_financeur=ETAT, prevu=Decimal("3000.00"), by=by
    ),
}


@sur_postgresql
@pytest.mark.parametrize(
    ("depart", "vers"),
    [
        pytest.param(StatutFiche.VALIDEE, StatutFiche.PROPOSEE, id="rouvrir"),
        pytest.param(StatutFiche.PROPOSEE, StatutFiche.VALIDEE, id="valider"),
    ],
)
@pytest.mark.parametrize("ecriture", ECRITURES_SUR_LA_FICHE)
def test_une_transition_de_fiche_et_une_ecriture_sur_la_fiche_ne_s_interbloquent_pas(
    en_negociation, editeur, editrice, ecriture, depart, vers
):
    pk = en_negociation.fiche.pk
    FicheAction.objects.filter(pk=pk).update(statut=depart)
    version = fiche(pk).version
    _verrou, ecrit, transition = course(
        # another writer of the contract (its page, a signatory, a ceiling...) holds its row for a moment;
        # the writer of the fiche queues behind it, then the transition.
        lambda: Contrat.objects.select_for_update().get(pk=en_negociation.contrat.pk),
        lambda: ECRITURES_SUR_LA_FICHE[ecriture](pk, version, editeur),
        lambda: fiche_transition(fiche=fiche(pk), to=vers, by=editrice),
    )
    for issue in (ecrit, transition):
        # Either may be refused (in French) by what the other did; neither fails in the database.
        assert issue.erreur is None or isinstance(issue.erreur, ValidationError), repr(issue.erreur)


@sur_postgresql
def test_un_engage_et_un_prevu_sur_la_meme_fiche_ne_s_interbloquent_pas(en_negociation, editeur, editrice):
    part = LigneFinancement.objects.get(fiche=en_negociation.fiche, type_financeur=COLLECTIVITE)
    etat, version_etat = _ligne(en_negociation)
    part, version_part = LigneFinancement.objects.get(pk=part.pk), part.version
    _verrou, prevu_saisi, engage_saisi = course(
        # another writer of the contract holds its row for a moment; the planned amount (contract first,
        # then the line) queues behind it, then the engagé of the other line (its line, its fiche, then...)
        lambda: Contrat.objects.select_for_update().get(pk=en_negociation.contrat.pk),
        lambda: ligne_financement_save(
            ligne_financement=_avec(etat, prevu=Decimal("9000.00")), version=version_etat, by=editeur
        ),
        lambda: ligne_financement_save(
            ligne_financement=_avec(part, engage=Decimal("500.00")), version=version_part, by=editrice
        ),
    )
    for issue in (prevu_saisi, engage_saisi):
        assert issue.erreur is None or isinstance(issue.erreur, ValidationError), repr(issue.erreur)

"""The dashboards' summary (``financement.synthese``) stays equal to a fresh aggregate of the lines after every write.

``attendu()`` recomputes what the summary must hold by another road than ``synthese_calculee``: the database groups
the funding lines and the fiches itself, and the parity breaches come from ``financement.regles.parite_violations``
(the function signature and fiche validation run). Every kind of write is checked: generated sequences of line and
fiche writes through the services (hypothesis), refused writes included; an avenant's application; a renewal; a
change of a cofinancing rule; the demo's bulk load and ``manage.py synthese_rebuild``.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, DecimalField, F, Sum, Value
from django.db.models.functions import Coalesce
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions.enums import NatureAction, StatutFiche
from actions.models import FicheAction
from actions.services import SUITES_FICHE, fiche_create, fiche_delete, fiche_transition, fiche_update
from contrats.enums import StatutContrat, TypeContrat
from contrats.models import Contrat
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement, RegleCofinancement, SyntheseFinancement
from financement.regles import PREVU, REALISE, parite_violations
from financement.renouvellement import contrat_renew
from financement.services import (
    avenant_propose_plafond,
    avenant_propose_prevu,
    ligne_financement_delete,
    ligne_financement_save,
    ligne_financement_set,
    regle_cofinancement_save,
)
from financement.synthese import synthese_differee, synthese_rebuild, synthese_refresh
from pacte import hooks
from pacte.models import Mesure, Objectif
from tests.contrats.test_services import avenant_pret, contrat_pret, monde, signer
from tests.factories import OrganisationFactory, axe
from tests.financement.test_renouvellement import cdie

pytestmark = pytest.mark.django_db

D = Decimal
ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE
ZERO = Value(D("0"), output_field=DecimalField(max_digits=18, decimal_places=2))


def lue() -> dict[tuple, tuple]:
    """The summary as stored: one entry per row (a key met twice would be a duplicate row)."""
    rows = {}
    for r in SyntheseFinancement.objects.all():
        cle = (r.contrat_id, r.axe_id, r.objectif_id, r.mesure_id, r.mesure_locale, r.statut_fiche, r.annee)
        cle += (r.type_financeur,)
        assert cle not in rows, f"ligne de synthèse en double : {cle}"
        rows[cle] = (r.prevu, r.engage, r.realise, r.nb_lignes, r.nb_fiches, r.nb_ruptures_prevu, r.nb_ruptures_realise)
    return rows


def attendu() -> dict[tuple, tuple]:
    """What the summary must hold, recomputed independently from the lines and fiches in the database."""
    rows: dict[tuple, tuple] = {}
    lignes = (
        LigneFinancement.objects.annotate(_objectif=Coalesce(F("fiche__objectif_id"), F("fiche__mesure__objectif_id")))
        .values(
            "fiche__contrat_id",
            "fiche__axe_id",
            "_objectif",
            "fiche__mesure_id",
            "fiche__mesure_locale",
            "fiche__statut",
            "annee",
            "type_financeur",
        )
        .annotate(
            p=Sum("prevu"),
            e=Coalesce(Sum("engage"), ZERO),
            r=Coalesce(Sum("realise"), ZERO),
            n=Count("pk"),
            f=Count("fiche", distinct=True),
        )
        .order_by()
    )
    for row in lignes:
        cle = tuple(row[k] for k in list(row)[:8])
        rows[cle] = (row["p"], row["e"], row["r"], row["n"], row["f"], 0, 0)
    ruptures: dict[tuple[int, str], set[str]] = {}
    for contrat_id in Contrat.objects.filter(fiches__isnull=False).distinct().values_list("pk", flat=True):
        for champ in (PREVU, REALISE):
            for message in parite_violations(FicheAction.objects.filter(contrat_id=contrat_id), champ=champ):
                code = message.removeprefix("Fiche ").split(",")[0]
                ruptures.setdefault((contrat_id, code), set()).add(champ)
    fiches = FicheAction.objects.annotate(_objectif=Coalesce(F("objectif_id"), F("mesure__objectif_id"))).values(
        "contrat_id", "axe_id", "_objectif", "mesure_id", "mesure_locale", "statut", "code"
    )
    for fiche in fiches:
        cle = (*(fiche[k] for k in list(fiche)[:6]), None, "")
        _, _, _, _, n, rp, rr = rows.get(cle, (D(0), D(0), D(0), 0, 0, 0, 0))
        champs = ruptures.get((fiche["contrat_id"], fiche["code"]), set())
        rows[cle] = (D(0), D(0), D(0), 0, n + 1, rp + (PREVU in champs), rr + (REALISE in champs))
    return rows


def assert_a_jour():
    assert lue() == attendu()


# --- Generated writes through the services ---------------------------------------------------------------------


@dataclass
class Monde:
    contrats: list[Contrat]
    porteur: object
    caf: object

    def fiches(self) -> list[FicheAction]:
        return list(FicheAction.objects.filter(contrat__in=self.contrats).select_related("contrat").order_by("pk"))


def monde_genere() -> Monde:
    """A convention unique in negotiation in the Hautes-Alpes (fiches on axes 1 and 3) and a signed one in the Rhône
    (axis 2): contractual writes pass on the first and are refused on the second, execution data pass on both. The
    factories' lines bypass the services: the summary is rebuilt once."""
    brouillon = contrat_pret(type_contrat=TypeContrat.CONVENTION_UNIQUE, reference="CU-2024-D05", axes_fiches=(1, 3))
    signe = contrat_pret(
        StatutContrat.SIGNE,
        type_contrat=TypeContrat.CONVENTION_UNIQUE,
        code="D69",
        reference="CU-2024-D69",
        axes_fiches=(2,),
    )
    synthese_rebuild()
    return Monde([brouillon, signe], OrganisationFactory(nom="Association"), OrganisationFactory(nom="CAF"))


NON = object()  # the argument is not passed
MONTANT = st.decimals(min_value=0, max_value=D("99999.99"), places=2, allow_nan=False, allow_infinity=False)
PEUT_ETRE = st.one_of(st.just(NON), st.none(), MONTANT)
INDICE = st.integers(min_value=0, max_value=20)

OPERATIONS = st.one_of(
    st.tuples(
        st.just("ligne_set"),
        INDICE,
        st.sampled_from([2024, 2025, 2026, 2027]),
        st.sampled_from([ETAT, COLL, AUTRE]),
        PEUT_ETRE,
        PEUT_ETRE,
        PEUT_ETRE,
    ),
    st.tuples(st.just("ligne_save"), INDICE, INDICE, MONTANT, st.one_of(st.none(), MONTANT)),
    st.tuples(st.just("ligne_delete"), INDICE, INDICE),
    st.tuples(st.just("fiche_create"), INDICE, st.sampled_from([1, 3, 4]), st.one_of(st.none(), INDICE)),
    st.tuples(st.just("fiche_update"), INDICE, st.sampled_from(["mesure", "objectif", "locale", "axe"]), INDICE),
    st.tuples(st.just("fiche_transition"), INDICE, st.sampled_from(StatutFiche.values)),
    st.tuples(st.just("fiche_delete"), INDICE),
)


def _choix(rows: list, i: int):
    return rows[i % len(rows)] if rows else None


def appliquer(m: Monde, operation: tuple) -> None:
    """Applies one generated write through its service; a refusal (ValidationError) writes nothing."""
    nom, *args = operation
    fiche = _choix(m.fiches(), args[0])
    if nom == "ligne_set" and fiche:
        annee, financeur, prevu, engage, realise = args[1:]
        montants = {k: v for k, v in (("prevu", prevu), ("engage", engage), ("realise", realise)) if v is not NON}
        if montants.get("prevu", 0) is None:
            montants["prevu"] = D("0")
        ligne_financement_set(
            fiche=fiche,
            annee=annee,
            type_financeur=financeur,
            financeur=m.caf if financeur == AUTRE else None,
            **montants,
        )
    elif nom == "ligne_save" and fiche:
        ligne = _choix(list(fiche.financements.order_by("pk")), args[1])
        if ligne:
            ligne.prevu, ligne.realise = args[2], args[3]
            ligne_financement_save(ligne_financement=ligne)
    elif nom == "ligne_delete" and fiche:
        ligne = _choix(list(fiche.financements.order_by("pk")), args[1])
        if ligne:
            ligne_financement_delete(ligne_financement=ligne)
    elif nom == "fiche_create":
        contrat, numero, mesure = _choix(m.contrats, args[0]), args[1], args[2]
        mesures = list(Mesure.objects.filter(axe__numero=numero).order_by("code"))
        fiche_create(
            contrat=contrat,
            intitule="Action générée",
            axe=axe(numero),
            mesure=None if mesure is None else _choix(mesures, mesure),
            nature=NatureAction.NOUVELLE,
            porteur=m.porteur,
            date_debut=date(2024, 1, 1),
            date_fin=date(2027, 12, 31),
        )
    elif nom == "fiche_update" and fiche:
        quoi, i = args[1], args[2]
        if quoi == "mesure":
            fiche_update(fiche=fiche, mesure=_choix(list(Mesure.objects.filter(axe=fiche.axe).order_by("code")), i))
        elif quoi == "objectif":
            objectif = _choix(list(Objectif.objects.filter(axe=fiche.axe).order_by("code")), i)
            fiche_update(fiche=fiche, mesure=None, objectif=objectif, mesure_locale="")
        elif quoi == "locale":
            fiche_update(fiche=fiche, mesure=None, mesure_locale=f"Mesure locale {i % 3}")
        else:
            fiche_update(fiche=fiche, axe=axe(_choix([1, 3, 4], i)), mesure=None, objectif=None)
    elif nom == "fiche_transition" and fiche:
        fiche_transition(fiche=fiche, to=args[1])
    elif nom == "fiche_delete" and fiche:
        fiche_delete(fiche=fiche)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=8))
def test_the_summary_equals_a_fresh_aggregate_after_every_generated_write(db, operations):
    with transaction.atomic():
        m = monde_genere()
        assert_a_jour()
        for operation in operations:
            # A refusal writes nothing, and the summary does not move either.
            with contextlib.suppress(ValidationError):
                appliquer(m, operation)
            assert_a_jour()
        transaction.set_rollback(True)


def test_the_generated_world_has_something_to_sum():
    """The property above starts from money on both contracts and breaks parity when it should."""
    m = monde_genere()
    fiche = m.contrats[0].fiches.order_by("pk").first()
    ligne_financement_set(fiche=fiche, annee=2025, type_financeur=ETAT, prevu=D("20000.01"))
    rows = lue()
    assert rows == attendu()
    comptes = [v for k, v in rows.items() if k[0] == fiche.contrat_id and k[6] is None and v[5]]
    assert comptes and sum(v[5] for v in comptes) == 1  # A1-01 now breaks parity on its planned amounts
    assert {k[0] for k in rows} == {c.pk for c in m.contrats}


def test_a_refused_write_changes_neither_the_lines_nor_the_summary():
    m = monde_genere()
    avant = lue()
    fiche = m.contrats[1].fiches.get()  # the signed contract: its planned amounts are frozen
    with pytest.raises(ValidationError):
        ligne_financement_set(fiche=fiche, annee=2024, type_financeur=ETAT, prevu=D("1"))
    assert lue() == avant == attendu()


# --- The other writers ---------------------------------------------------------------------------------------


def test_an_avenant_s_application_updates_the_summary():
    """apply_prevu (a planned amount), apply_fiche (a measure changed, a fiche withdrawn), apply_fiche_ajout."""
    m = monde(StatutContrat.SIGNE)
    synthese_rebuild()
    mesure = Mesure.objects.filter(axe__numero=1).exclude(pk=m.fiche.mesure_id).order_by("code").first()
    from actions.services import avenant_propose_fiche_add, avenant_propose_fiche_change

    def proposer(avenant):
        avenant_propose_prevu(avenant=avenant, fiche_code="A1-01", annee=2025, type_financeur=ETAT, montant=D("3000"))
        avenant_propose_prevu(avenant=avenant, fiche_code="A1-01", annee=2025, type_financeur=COLL, montant=D("3000"))
        avenant_propose_plafond(avenant=avenant, annee=2025, montant=D("3000"))
        avenant_propose_fiche_change(avenant=avenant, fiche=m.fiche, mesure=mesure, objectif=mesure.objectif)
        avenant_propose_fiche_add(
            avenant=avenant,
            code="A3-05",
            intitule="Nouvelle action par avenant",
            axe=axe(3),
            nature=NatureAction.NOUVELLE,
            porteur=m.porteur,
            date_debut=date(2024, 1, 1),
            date_fin=date(2027, 12, 31),
        )

    signer(avenant_pret(m.contrat, proposer))
    rows = lue()
    assert rows == attendu()
    assert any(k[3] == mesure.pk and k[6] == 2025 and v[0] == D("3000") for k, v in rows.items())
    assert sum(v[4] for k, v in rows.items() if k[6] is None) == 2  # A1-01 and the new A3-05


def test_a_withdrawal_by_avenant_moves_the_fiche_to_abandoned_in_the_summary():
    m = monde(StatutContrat.SIGNE)
    from actions.services import avenant_propose_fiche_retrait

    # A second action keeps the contract signable once A1-01 is withdrawn (set up past the services: the contract
    # is signed), then the summary is rebuilt as the module's docstring says such a writer must.
    FicheAction.objects.create(
        contrat=m.contrat,
        code="A3-01",
        intitule="Autre",
        axe=axe(3),
        nature=NatureAction.NOUVELLE,
        porteur=m.porteur,
        date_debut=date(2024, 1, 1),
        date_fin=date(2027, 12, 31),
        statut=StatutFiche.VALIDEE,
    )
    synthese_refresh(m.contrat.pk)
    signer(avenant_pret(m.contrat, lambda avenant: avenant_propose_fiche_retrait(avenant=avenant, fiche=m.fiche)))
    rows = lue()
    assert rows == attendu()
    assert {k[5] for k in rows if k[6] is None} == {StatutFiche.ABANDONNEE, StatutFiche.VALIDEE}


def test_a_renewal_writes_the_new_contract_s_summary_once():
    source = cdie()
    synthese_rebuild()
    nouveau = contrat_renew(contrat=source, by=None)
    assert lue() == attendu()
    comptes = [v for k, v in lue().items() if k[0] == nouveau.pk and k[6] is None]
    assert sum(v[4] for v in comptes) == 2  # the two active fiches taken up, « proposée »


def test_a_renewal_refreshes_each_contract_once():
    """Inside ``synthese_differee`` the lines copied one by one do not refresh the contract after each of them."""
    source = cdie()
    calls = []
    from financement import synthese

    original = synthese._recompute
    synthese._recompute = lambda ids: (calls.append(list(ids)), original(ids))[1]
    try:
        nouveau = contrat_renew(contrat=source, by=None)
    finally:
        synthese._recompute = original
    assert calls == [[nouveau.pk]]


def test_a_change_of_the_cofinancing_rule_recounts_the_breaches():
    m = monde_genere()
    fiche = m.contrats[0].fiches.order_by("pk").first()
    ligne_financement_set(fiche=fiche, annee=2024, type_financeur=COLL, prevu=D("9000"))  # State 10 000 > 9 000
    assert sum(v[5] for v in lue().values()) == 1
    regle = RegleCofinancement.objects.get(type_contrat=TypeContrat.CONVENTION_UNIQUE, volet_numero=None)
    regle.tolerance = D("1000.00")
    regle_cofinancement_save(regle_cofinancement=regle, version=regle.version)
    assert sum(v[5] for v in lue().values()) == 0
    assert lue() == attendu()


def test_synthese_differee_refreshes_once_at_the_end_and_nests():
    m = monde_genere()
    fiche = m.contrats[0].fiches.order_by("pk").first()
    with synthese_differee():
        with synthese_differee():
            ligne_financement_set(fiche=fiche, annee=2026, type_financeur=ETAT, prevu=D("7"))
        assert lue() != attendu()  # not yet: the outermost block refreshes
    assert lue() == attendu()


def test_synthese_differee_used_as_a_decorator_wraps_each_call():
    m = monde_genere()
    fiche = m.contrats[0].fiches.order_by("pk").first()

    @synthese_differee()
    def deux_lignes(annee):
        ligne_financement_set(fiche=fiche, annee=annee, type_financeur=ETAT, prevu=D("5"))
        ligne_financement_set(fiche=fiche, annee=annee, type_financeur=COLL, prevu=D("5"))

    deux_lignes(2026)
    assert lue() == attendu()
    deux_lignes(2027)
    assert lue() == attendu()


def test_synthese_differee_leaves_the_summary_to_the_rollback_on_an_exception():
    m = monde_genere()
    fiche = m.contrats[0].fiches.order_by("pk").first()
    avant = lue()
    with pytest.raises(RuntimeError), transaction.atomic(), synthese_differee():
        ligne_financement_set(fiche=fiche, annee=2026, type_financeur=ETAT, prevu=D("7"))
        raise RuntimeError
    assert lue() == avant == attendu()
    # The next write refreshes normally (nothing is left pending).
    ligne_financement_set(fiche=fiche, annee=2026, type_financeur=ETAT, prevu=D("8"))
    assert lue() == attendu()


def test_a_fiche_write_runs_the_summary_handler_by_name():
    """actions names the handler it runs (``SUITES_FICHE``), which fails closed if financement did not register it."""
    assert SUITES_FICHE == ("financement.checks.synthese_de_la_fiche",)
    registered = {f"{fn.__module__}.{fn.__qualname__}" for fn in hooks._handlers[hooks.FICHE_MODIFIEE]}
    assert set(SUITES_FICHE) <= registered


def test_the_rebuild_command_repairs_a_summary_written_past_the_services():
    m = monde_genere()
    SyntheseFinancement.objects.filter(contrat=m.contrats[0]).delete()
    LigneFinancement.objects.filter(fiche__contrat=m.contrats[1]).update(realise=D("123.45"))
    assert lue() != attendu()
    out = io.StringIO()
    call_command("synthese_rebuild", stdout=out)
    assert lue() == attendu()
    assert "Synthèse recalculée : 2 contrats" in out.getvalue()


def test_the_demo_s_bulk_load_leaves_an_exact_summary():
    call_command("seed_demo", scale="region", region="93", stdout=io.StringIO())
    rows = lue()
    assert len(rows) > 500
    assert rows == attendu()

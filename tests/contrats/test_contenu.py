"""What a contract holds besides its fiches (docs/regles.md, « Contenu du contrat », « Pacte local »).

The preamble and the diagnostic are rich text kept safe (nh3), the objectives an ordered list, the
local labels word the contract's own axes; all are contractual: refused after signature, changed by
avenant (nature ``contenu``). Every contract belongs to its collectivité's pacte local.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse

from contrats.appliers import apply_contenu
from contrats.enums import STATUTS_FIGES, NatureModification, PartieSignataire, StatutAvenant, StatutContrat
from contrats.models import Contrat, LibelleAxe, ModificationAvenant, ObjectifContrat, PacteLocal
from contrats.services import (
    avenant_create,
    avenant_propose_contenu,
    avenant_sign,
    avenant_transition,
    contrat_create,
    contrat_update,
    libelle_axe_delete,
    libelle_axe_save,
    objectif_contrat_delete,
    objectif_contrat_save,
    pacte_local_get_or_create,
    pacte_local_save,
    rich_text_clean,
)
from financement.enums import TypeFinanceur
from pacte import hooks
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    LigneFinancementFactory,
    PlafondFactory,
    SignataireFactory,
    axe,
    collectivite,
)

pytestmark = pytest.mark.django_db

D = Decimal


def gel(contrat) -> str:
    return (
        f"Le contrat {contrat.reference} est {contrat.get_statut_display().lower()} : "
        "ses données contractuelles ne changent plus que par un avenant."
    )


# --- Rich text ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("saisi", "garde"),
    [
        pytest.param("<p>Un <strong>diagnostic</strong> <em>partagé</em>.</p>", None, id="tags-allowed"),
        pytest.param("<h3>Titre</h3><h4>Sous-titre</h4><ul><li>a</li></ul><ol><li>b</li></ol>", None, id="lists"),
        pytest.param("ligne<br>suivante", None, id="br"),
        pytest.param(
            '<a href="https://www.gouvernement.fr/">lien</a>',
            '<a href="https://www.gouvernement.fr/" rel="noopener noreferrer">lien</a>',
            id="https-link",
        ),
        pytest.param(
            '<a href="http://example.org/x">lien</a>',
            '<a href="http://example.org/x" rel="noopener noreferrer">lien</a>',
            id="http-link",
        ),
        pytest.param(
            '<a href="mailto:ddets@example.gouv.fr">écrire</a>',
            '<a href="mailto:ddets@example.gouv.fr" rel="noopener noreferrer">écrire</a>',
            id="mailto-link",
        ),
        pytest.param('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>', id="javascript"),
        pytest.param(
            '<a href=" JaVaScRiPt:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>', id="javascript-case"
        ),
        pytest.param('<a href="data:text/html,x">x</a>', '<a rel="noopener noreferrer">x</a>', id="data-url"),
        pytest.param('<a href="/admin/">x</a>', '<a rel="noopener noreferrer">x</a>', id="relative-url"),
        pytest.param(
            '<a href="https://a.fr" onclick="x()" title="t" target="_blank" rel="opener">x</a>',
            '<a href="https://a.fr" rel="noopener noreferrer">x</a>',
            id="link-attributes",
        ),
        pytest.param("<script>alert(1)</script>texte", "texte", id="script-and-content"),
        pytest.param("<style>p{display:none}</style>texte", "texte", id="style-and-content"),
        pytest.param('<p style="color:red" class="x" id="y" lang="fr">a</p>', "<p>a</p>", id="attributes"),
        pytest.param('<img src="x" onerror="alert(1)">', "", id="img"),
        pytest.param('<iframe src="https://a.fr"></iframe>fin', "fin", id="iframe"),
        pytest.param("<svg><script>1</script></svg>fin", "fin", id="svg"),
        pytest.param("<h1>Titre</h1><table><tr><td>c</td></tr></table>", "Titrec", id="other-tags-keep-text"),
        pytest.param("<!-- note -->texte", "texte", id="comment"),
        pytest.param("<p>non fermé", "<p>non fermé</p>", id="unclosed"),
        pytest.param("a < b & c", "a &lt; b &amp; c", id="plain-text-escaped"),
        pytest.param("  <p>a</p>\n ", "<p>a</p>", id="trimmed"),
        pytest.param("", "", id="empty"),
        pytest.param(None, "", id="none"),
    ],
)
def test_rich_text_clean(saisi, garde):
    expected = saisi if garde is None else garde
    assert rich_text_clean(saisi) == expected
    assert rich_text_clean(expected) == expected  # cleaning twice changes nothing (no double escaping)


@pytest.mark.parametrize("champ", ["preambule", "diagnostic"])
@pytest.mark.parametrize(
    ("saisi", "stocke", "message"),
    [
        pytest.param("<p>Texte <script>x</script>sûr</p>", "<p>Texte sûr</p>", None, id="cleaned"),
        pytest.param(None, "", None, id="none-is-empty"),
        pytest.param("<p>a\x00b</p>", None, "Ce texte contient", id="nul-refused-not-dropped"),
        pytest.param("\u202eevil", None, "inverse le sens de lecture", id="bidi"),
        pytest.param("x" * 10_001, None, "il en compte 10\u00a0000 au plus", id="too-long"),
        pytest.param("x" * 10_000, "x" * 10_000, None, id="longest"),
        pytest.param(12, None, "Ce texte n'est pas du texte.", id="not-text"),
    ],
)
def test_contrat_update_rich_text(champ, saisi, stocke, message):
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05")
    if message is None:
        contrat_update(contrat=contrat, **{champ: saisi})
        contrat.refresh_from_db()
        assert getattr(contrat, champ) == stocke
        return
    with pytest.raises(ValidationError) as exc:
        contrat_update(contrat=contrat, **{champ: saisi})
    assert champ in exc.value.message_dict
    assert message in " ".join(exc.value.message_dict[champ])
    contrat.refresh_from_db()
    assert getattr(contrat, champ) == ""
    assert contrat.version == 0


def test_contrat_create_cleans_the_rich_text():
    contrat = contrat_create(
        collectivite=collectivite("D05"),
        type_contrat="cls_departement",
        date_debut=date(2024, 1, 1),
        date_fin=date(2027, 12, 31),
        preambule='<p onclick="x">Préambule</p><script>x</script>',
        diagnostic="<h3>Constat</h3><img src=x>",
    )
    contrat.refresh_from_db()
    assert (contrat.preambule, contrat.diagnostic) == ("<p>Préambule</p>", "<h3>Constat</h3>")


# --- The pacte local -----------------------------------------------------------------------------------


def _creer(code="D05", annee=2024, type_contrat="cls_departement", **kwargs) -> Contrat:
    return contrat_create(
        collectivite=collectivite(code),
        type_contrat=type_contrat,
        date_debut=date(annee, 1, 1),
        date_fin=date(annee if type_contrat == "cdie" else 2027, 12, 31),
        **kwargs,
    )


def test_contrat_create_attaches_the_pacte_local_created_once():
    cls = _creer()
    cdie = _creer(type_contrat="cdie")
    cls_69 = _creer("D69")
    pacte = cls.pacte_local
    assert (pacte.collectivite.code, pacte.annee_debut, pacte.annee_fin) == ("D05", 2024, 2027)
    assert pacte.intitule == "Pacte local des solidarités – Département des Hautes-Alpes"
    assert cdie.pacte_local == pacte
    assert cls_69.pacte_local != pacte and cls_69.pacte_local.collectivite.code == "D69"
    assert PacteLocal.objects.count() == 2
    assert sorted(pacte.contrats.values_list("reference", flat=True)) == ["CDIE-2024-D05", "CLS-2024-D05"]


def test_the_pacte_local_follows_the_period_setting():
    with override_settings(PACTE_PERIODE="2024-2028"):
        pacte = pacte_local_get_or_create(collectivite=collectivite("D05"))
    assert (pacte.annee_debut, pacte.annee_fin) == (2024, 2028)
    assert pacte_local_get_or_create(collectivite=collectivite("D05")) == pacte  # same period start


def test_an_existing_pacte_local_is_reused_with_its_title():
    pacte = pacte_local_get_or_create(collectivite=collectivite("D05"))
    pacte_local_save(pacte_local=_with(pacte, intitule="Pacte local haut-alpin"))
    assert _creer().pacte_local.intitule == "Pacte local haut-alpin"


@pytest.mark.parametrize(
    ("pacte_de", "precedent_de", "errors"),
    [
        pytest.param("D05", "D05", {}, id="same-collectivite"),
        pytest.param(
            "D69",
            None,
            {
                "pacte_local": [
                    "Le pacte local « Pacte local des solidarités – Département du Rhône » est celui d'une autre "
                    "collectivité."
                ]
            },
            id="pacte-local-of-another",
        ),
        pytest.param(
            None,
            "D69",
            {"contrat_precedent": ["Le contrat renouvelé CDIE-2024-D69 appartient à une autre collectivité."]},
            id="renewed-contract-of-another",
        ),
    ],
)
def test_contrat_create_links_within_the_collectivite(pacte_de, precedent_de, errors):
    kwargs = {}
    if pacte_de:
        kwargs["pacte_local"] = pacte_local_get_or_create(collectivite=collectivite(pacte_de))
    if precedent_de:
        kwargs["contrat_precedent"] = ContratFactory(
            collectivite=collectivite(precedent_de), cdie=True, reference=f"CDIE-2024-{precedent_de}", signe=True
        )
    if not errors:
        contrat = _creer(annee=2025, type_contrat="cdie", **kwargs)
        assert contrat.contrat_precedent == kwargs["contrat_precedent"]
        return
    with pytest.raises(ValidationError) as exc:
        _creer(annee=2025, type_contrat="cdie", **kwargs)
    assert exc.value.message_dict == errors
    assert not Contrat.objects.filter(reference="CDIE-2025-D05").exists()


def _with(obj, **values):
    for name, value in values.items():
        setattr(obj, name, value)
    return obj


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"intitule": "  Pacte local des Hautes-Alpes  "}, "Pacte local des Hautes-Alpes", id="title"),
        pytest.param({"intitule": ""}, "Ce champ ne peut pas être vide.", id="empty-title"),
        pytest.param({"intitule": "a\nb"}, "Ce champ tient sur une ligne", id="two-lines"),
        pytest.param(
            {"annee_fin": 2026},
            "Seul l'intitulé d'un pacte local se modifie : sa collectivité et sa période sont fixées.",
            id="years",
        ),
        pytest.param(
            {"collectivite_id": "D69"},
            "Seul l'intitulé d'un pacte local se modifie : sa collectivité et sa période sont fixées.",
            id="collectivite",
        ),
    ],
)
def test_pacte_local_save(change, expected):
    pacte = pacte_local_get_or_create(collectivite=collectivite("D05"))
    if change.get("collectivite_id"):
        change = {"collectivite_id": collectivite(change["collectivite_id"]).pk}
    if "intitule" in change and expected == change["intitule"].strip():
        pacte_local_save(pacte_local=_with(pacte, **change))
        pacte.refresh_from_db()
        assert pacte.intitule == expected
        return
    with pytest.raises(ValidationError) as exc:
        pacte_local_save(pacte_local=_with(pacte, **change))
    assert expected in " ".join(exc.value.messages)
    pacte.refresh_from_db()
    assert (pacte.intitule, pacte.annee_fin, pacte.collectivite.code, pacte.version) == (
        "Pacte local des solidarités – Département des Hautes-Alpes",
        2027,
        "D05",
        0,
    )


@pytest.mark.parametrize(
    ("intitule", "expected"),
    [
        pytest.param("", "Pacte local des solidarités – Département des Hautes-Alpes", id="default-title"),
        pytest.param(" Pacte haut-alpin ", "Pacte haut-alpin", id="title-given"),
    ],
)
def test_a_pacte_local_is_created_ahead_of_the_first_contract(intitule, expected):
    # The period is the Pacte's whatever the form sent.
    pacte = PacteLocal(collectivite=collectivite("D05"), annee_debut=2019, annee_fin=2035, intitule=intitule)
    pacte_local_save(pacte_local=pacte)
    pacte.refresh_from_db()
    assert (pacte.intitule, pacte.annee_debut, pacte.annee_fin) == (expected, 2024, 2027)
    assert _creer().pacte_local == pacte


def test_one_pacte_local_per_collectivite_and_period():
    pacte_local_get_or_create(collectivite=collectivite("D05"))
    with pytest.raises(ValidationError) as exc:
        pacte_local_save(pacte_local=PacteLocal(collectivite=collectivite("D05"), intitule="Bis"))
    assert exc.value.messages == ["Cette collectivité a déjà un pacte local pour cette période."]
    assert PacteLocal.objects.count() == 1


# --- Objectives and local axis labels -----------------------------------------------------------------


@pytest.fixture
def cls_05():
    """A CLS of the Hautes-Alpes in negotiation, on axes 1, 3 and 4."""
    return ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05")


@pytest.mark.parametrize(
    ("existing", "ordre", "libelle", "saved", "refused"),
    [
        pytest.param([], None, "Prévenir", {"ordre": 1}, None, id="first-without-rank"),
        pytest.param([1, 5], None, "Prévenir", {"ordre": 6}, None, id="after-the-others"),
        pytest.param([1], 2, "  Prévenir  ", {"ordre": 2, "libelle": "Prévenir"}, None, id="rank-given-trimmed"),
        pytest.param([1], 10, "Prévenir", {"ordre": 10}, None, id="gaps-allowed"),
        pytest.param([], 1, "Prévenir", {"ordre": 1}, None, id="rank-1-edge"),
        pytest.param([], 0, "Prévenir", None, {"ordre": "Le rang d'un objectif commence à 1."}, id="rank-0"),
        pytest.param([], 1, "   ", None, {"libelle": "Écrivez l'objectif."}, id="blank"),
        pytest.param([1], 1, "Autre", None, {"ordre": "Un autre objectif du contrat a déjà ce rang."}, id="same-rank"),
        pytest.param([], 1, "a\x00b", None, {"libelle": "Ce texte contient"}, id="control-character"),
    ],
)
def test_objectif_contrat_save(cls_05, existing, ordre, libelle, saved, refused):
    for rang in existing:
        ObjectifContrat.objects.create(contrat=cls_05, ordre=rang, libelle=f"Objectif {rang}")
    objectif = ObjectifContrat(contrat=cls_05, ordre=ordre, libelle=libelle)
    if refused is None:
        objectif_contrat_save(objectif_contrat=objectif)
        objectif.refresh_from_db()
        assert {name: getattr(objectif, name) for name in saved} == saved
        return
    with pytest.raises(ValidationError) as exc:
        objectif_contrat_save(objectif_contrat=objectif)
    for field, message in refused.items():
        assert message in " ".join(exc.value.message_dict[field])
    assert cls_05.objectifs.count() == len(existing)


@pytest.mark.parametrize(
    ("numero", "libelle", "expected"),
    [
        pytest.param(1, " Petite enfance ", None, id="axis-of-the-contract"),
        pytest.param(4, "Travail social", None, id="last-axis"),
        pytest.param(
            2, "Insertion", {"axe": ["L'axe 2 n'est pas un axe du contrat CLS-2024-D05 (axes 1, 3, 4)."]}, id="other"
        ),
        pytest.param(1, "", {"libelle": ["Écrivez l'intitulé local de l'axe."]}, id="blank"),
        pytest.param(1, "x" * 301, {"libelle": ["300"]}, id="too-long"),
        pytest.param(1, "a\nb", {"libelle": ["Ce champ tient sur une ligne"]}, id="two-lines"),
    ],
)
def test_libelle_axe_save(cls_05, numero, libelle, expected):
    row = LibelleAxe(contrat=cls_05, axe=axe(numero), libelle=libelle)
    if expected is None:
        libelle_axe_save(libelle_axe=row)
        assert cls_05.libelles_axes.get().libelle == libelle.strip()
        return
    with pytest.raises(ValidationError) as exc:
        libelle_axe_save(libelle_axe=row)
    for field, messages in expected.items():
        assert messages[0] in " ".join(exc.value.message_dict[field])
    assert not cls_05.libelles_axes.exists()


def test_one_local_label_per_axis(cls_05):
    libelle_axe_save(libelle_axe=LibelleAxe(contrat=cls_05, axe=axe(1), libelle="Petite enfance"))
    with pytest.raises(ValidationError) as exc:
        libelle_axe_save(libelle_axe=LibelleAxe(contrat=cls_05, axe=axe(1), libelle="Familles"))
    assert exc.value.message_dict == {"axe": ["Cet axe a déjà un intitulé local dans ce contrat."]}


@pytest.mark.parametrize(
    ("labels", "axes", "expected"),
    [
        pytest.param([], [1, 3], None, id="no-label"),
        pytest.param([1], [1, 3], None, id="labelled-axis-kept"),
        pytest.param(
            [4], [1, 3], "Un intitulé local porte sur l’axe 4 : supprimez-le avant de retirer l'axe.", id="one"
        ),
        pytest.param(
            [3, 4], [1], "Un intitulé local porte sur les axes 3, 4 : supprimez-le avant de retirer l'axe.", id="two"
        ),
    ],
)
def test_an_axis_with_a_local_label_is_not_removed(cls_05, labels, axes, expected):
    for numero in labels:
        LibelleAxe.objects.create(contrat=cls_05, axe=axe(numero), libelle=f"Axe local {numero}")
    if expected is None:
        contrat_update(contrat=cls_05, axes=[axe(n) for n in axes])
        assert sorted(cls_05.axes.values_list("numero", flat=True)) == axes
        return
    with pytest.raises(ValidationError) as exc:
        contrat_update(contrat=cls_05, axes=[axe(n) for n in axes])
    assert exc.value.message_dict == {"axes": [expected]}
    assert sorted(cls_05.axes.values_list("numero", flat=True)) == [1, 3, 4]


ECRITURES_CONTENU = {
    "preambule": lambda c: contrat_update(contrat=c, preambule="<p>Nouveau</p>"),
    "diagnostic": lambda c: contrat_update(contrat=c, diagnostic="<p>Nouveau</p>"),
    "objectif_add": lambda c: objectif_contrat_save(objectif_contrat=ObjectifContrat(contrat=c, libelle="Nouveau")),
    "objectif_change": lambda c: objectif_contrat_save(objectif_contrat=_with(c.objectifs.get(), libelle="Autre")),
    "objectif_delete": lambda c: objectif_contrat_delete(objectif_contrat=c.objectifs.get()),
    "libelle_add": lambda c: libelle_axe_save(libelle_axe=LibelleAxe(contrat=c, axe=axe(3), libelle="Logement")),
    "libelle_change": lambda c: libelle_axe_save(libelle_axe=_with(c.libelles_axes.get(), libelle="Autre")),
    "libelle_delete": lambda c: libelle_axe_delete(libelle_axe=c.libelles_axes.get()),
}


def _avec_contenu(statut) -> Contrat:
    contrat = ContratFactory(
        collectivite=collectivite("D05"),
        reference="CLS-2024-D05",
        statut=statut,
        date_signature=date(2024, 3, 15) if statut in STATUTS_FIGES else None,
    )
    ObjectifContrat.objects.create(contrat=contrat, ordre=1, libelle="Prévenir")
    LibelleAxe.objects.create(contrat=contrat, axe=axe(1), libelle="Petite enfance")
    return contrat


def _contenu(contrat) -> tuple:
    contrat.refresh_from_db()
    return (
        contrat.preambule,
        contrat.diagnostic,
        list(contrat.objectifs.values_list("ordre", "libelle")),
        list(contrat.libelles_axes.values_list("axe__numero", "libelle")),
    )


@pytest.mark.parametrize("statut", sorted(STATUTS_FIGES))
@pytest.mark.parametrize("ecriture", ECRITURES_CONTENU.values(), ids=ECRITURES_CONTENU.keys())
def test_content_is_frozen_by_the_signature(statut, ecriture):
    contrat = _avec_contenu(statut)
    before = _contenu(contrat)
    stale = Contrat.objects.get(pk=contrat.pk)
    stale.statut = StatutContrat.EN_NEGOCIATION  # a stale copy does not let the write through either
    with pytest.raises(ValidationError) as exc:
        ecriture(stale)
    assert exc.value.messages == [gel(contrat)]
    assert _contenu(contrat) == before


@pytest.mark.parametrize(
    "statut", [StatutContrat.BROUILLON, StatutContrat.EN_NEGOCIATION, StatutContrat.PRET_SIGNATURE]
)
@pytest.mark.parametrize("ecriture", ECRITURES_CONTENU.values(), ids=ECRITURES_CONTENU.keys())
def test_content_changes_before_the_signature(statut, ecriture):
    contrat = _avec_contenu(statut)
    before = _contenu(contrat)
    ecriture(contrat)
    assert _contenu(contrat) != before


# --- Changes by avenant --------------------------------------------------------------------------------


def cls_signe() -> Contrat:
    """A signed CLS whose signature checks pass (a validated fiche at parity within the ceiling), with a
    preamble, two objectives and a local label on axis 1."""
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05", signe=True)
    fiche = FicheActionFactory(contrat=contrat, axe=axe(1), code="A1-01", validee=True)
    LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.ETAT, prevu=D("10000"))
    LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=D("10000"))
    PlafondFactory(contrat=contrat, montant=D("10000"))
    SignataireFactory(contrat=contrat, partie=PartieSignataire.ETAT)
    SignataireFactory(contrat=contrat, partie=PartieSignataire.COLLECTIVITE, nom="B. Présidente")
    Contrat.objects.filter(pk=contrat.pk).update(preambule="<p>Ancien préambule</p>")
    ObjectifContrat.objects.create(contrat=contrat, ordre=1, libelle="Prévenir")
    ObjectifContrat.objects.create(contrat=contrat, ordre=3, libelle="Accompagner")
    LibelleAxe.objects.create(contrat=contrat, axe=axe(1), libelle="Petite enfance")
    contrat.refresh_from_db()
    return contrat


def signer(contrat, champs) -> tuple:
    avenant = avenant_create(contrat=contrat, objet="Contenu actualisé")
    modifications = avenant_propose_contenu(avenant=avenant, champs=champs)
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    avenant_sign(avenant=avenant, signed_on=date(2024, 9, 1), signataire_etat="Préfet", signataire_collectivite="PCD")
    return [ModificationAvenant.objects.get(pk=m.pk) for m in modifications]


def test_the_content_applier_is_registered():
    assert hooks.applier(NatureModification.CONTENU) is apply_contenu
    assert NatureModification.CONTENU.label == "Contenu du contrat"


@pytest.mark.parametrize(
    ("champs", "avant", "apres"),
    [
        pytest.param(
            {"preambule": '<p>Nouveau <a href="javascript:x">préambule</a></p>'},
            ["<p>Ancien préambule</p>"],
            ('<p>Nouveau <a rel="noopener noreferrer">préambule</a></p>', "", [(1, "Prévenir"), (3, "Accompagner")]),
            id="preamble-cleaned",
        ),
        pytest.param(
            {"diagnostic": "<h3>Constat</h3>"},
            [""],
            ("<p>Ancien préambule</p>", "<h3>Constat</h3>", [(1, "Prévenir"), (3, "Accompagner")]),
            id="diagnostic",
        ),
        pytest.param(
            {"objectifs": ["Accompagner", " Prévenir ", "Loger"]},
            [["Prévenir", "Accompagner"]],
            ("<p>Ancien préambule</p>", "", [(1, "Accompagner"), (2, "Prévenir"), (3, "Loger")]),
            id="objectives-reordered-and-added",
        ),
        pytest.param(
            {"objectifs": ["Prévenir"]},
            [["Prévenir", "Accompagner"]],
            ("<p>Ancien préambule</p>", "", [(1, "Prévenir")]),
            id="objective-removed",
        ),
        pytest.param(
            {"objectifs": []},
            [["Prévenir", "Accompagner"]],
            ("<p>Ancien préambule</p>", "", []),
            id="no-objective",
        ),
        pytest.param(
            {"preambule": "<p>P</p>", "objectifs": ["Un seul"]},
            ["<p>Ancien préambule</p>", ["Prévenir", "Accompagner"]],
            ("<p>P</p>", "", [(1, "Un seul")]),
            id="two-parts",
        ),
    ],
)
def test_avenant_changes_the_content(champs, avant, apres):
    contrat = cls_signe()
    modifications = signer(contrat, champs)
    assert [m.avant for m in modifications] == avant
    assert all(m.nature == NatureModification.CONTENU and m.applique_le for m in modifications)
    assert _contenu(contrat)[:3] == apres
    assert contrat.statut == StatutContrat.SIGNE


@pytest.mark.parametrize(
    ("libelles", "avant", "apres"),
    [
        pytest.param({1: "Enfance"}, {"1": "Petite enfance"}, [(1, "Enfance")], id="changed"),
        pytest.param({"3": "Logement"}, {"3": None}, [(1, "Petite enfance"), (3, "Logement")], id="added"),
        pytest.param({1: ""}, {"1": "Petite enfance"}, [], id="removed-by-empty"),
        pytest.param({1: None, 4: "Social"}, {"1": "Petite enfance", "4": None}, [(4, "Social")], id="both"),
    ],
)
def test_avenant_changes_the_local_labels(libelles, avant, apres):
    contrat = cls_signe()
    (modification,) = signer(contrat, {"libelles_axes": libelles})
    assert modification.avant == avant
    assert _contenu(contrat)[3] == apres


@pytest.mark.parametrize(
    ("champs", "expected"),
    [
        pytest.param({}, ["L'avenant ne propose aucun changement du contenu du contrat."], id="nothing"),
        pytest.param({"titre": "X"}, ["Champs non modifiables par avenant : titre."], id="unknown"),
        pytest.param({"preambule": "a\x00"}, ["Ce texte contient"], id="control-character"),
        pytest.param({"diagnostic": ["x"]}, ["Ce texte n'est pas du texte."], id="not-text"),
        pytest.param({"objectifs": "Prévenir"}, ["Les objectifs sont une liste de textes"], id="not-a-list"),
        pytest.param({"objectifs": ["A", 2]}, ["Les objectifs sont une liste de textes"], id="not-texts"),
        pytest.param({"objectifs": ["A", "  "]}, ["Objectif n° 2 : écrivez l'objectif."], id="blank-objective"),
        pytest.param({"objectifs": ["\u202e"]}, ["Objectif n° 1 : Ce texte contient"], id="bidi"),
        pytest.param({"libelles_axes": ["x"]}, ["Les intitulés locaux vont par numéro d'axe."], id="not-a-dict"),
        pytest.param(
            {"libelles_axes": {2: "Insertion"}},
            ["L'axe 2 n'est pas un axe du contrat CLS-2024-D05 (axes 1, 3, 4)."],
            id="axis-not-carried",
        ),
        pytest.param(
            {"libelles_axes": {"un": "X"}},
            ["L'axe un n'est pas un axe du contrat CLS-2024-D05 (axes 1, 3, 4)."],
            id="not-a-number",
        ),
        pytest.param(
            {"libelles_axes": {True: "X"}},
            ["L'axe True n'est pas un axe du contrat CLS-2024-D05 (axes 1, 3, 4)."],
            id="boolean",
        ),
        pytest.param({"libelles_axes": {1: "a\nb"}}, ["Axe 1 : Ce champ tient sur une ligne"], id="two-lines"),
        pytest.param({"libelles_axes": {1: 5}}, ["Axe 1 : l'intitulé local est un texte"], id="label-not-text"),
    ],
)
def test_avenant_proposals_of_content_are_checked(champs, expected):
    contrat = cls_signe()
    avenant = avenant_create(contrat=contrat, objet="Contenu")
    with pytest.raises(ValidationError) as exc:
        avenant_propose_contenu(avenant=avenant, champs=champs)
    assert all(any(e in m for m in exc.value.messages) for e in expected), exc.value.messages
    assert not avenant.modifications.exists()


def test_a_content_proposal_is_replaced_by_the_next_one():
    contrat = cls_signe()
    avenant = avenant_create(contrat=contrat, objet="Contenu")
    avenant_propose_contenu(avenant=avenant, champs={"preambule": "<p>Un</p>"})
    avenant_propose_contenu(avenant=avenant, champs={"preambule": "<p>Deux</p><script>x</script>"})
    (modification,) = avenant.modifications.all()
    assert (modification.libelle, modification.cible, modification.apres) == (
        "Contenu du contrat : préambule",
        {"champ": "preambule"},
        {"preambule": "<p>Deux</p>"},
    )


def test_a_local_label_on_an_axis_gone_since_the_proposal_rolls_the_avenant_back():
    contrat = cls_signe()
    avenant = avenant_create(contrat=contrat, objet="Contenu")
    avenant_propose_contenu(avenant=avenant, champs={"preambule": "<p>P</p>", "libelles_axes": {3: "Logement"}})
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    contrat.axes.remove(axe(3))
    before = _contenu(contrat)
    with pytest.raises(ValidationError) as exc:
        avenant_sign(avenant=avenant, signed_on=date(2024, 9, 1), signataire_etat="P", signataire_collectivite="C")
    assert exc.value.messages == ["L'axe 3 n'est pas un axe du contrat CLS-2024-D05 (axes 1, 4)."]
    assert _contenu(contrat) == before
    avenant.refresh_from_db()
    assert avenant.statut == StatutAvenant.PRET_SIGNATURE


# --- Back-office ---------------------------------------------------------------------------------------


def _change(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def _post_data(response) -> dict:
    from tests.test_admin import as_post_data

    return as_post_data(response)


def test_the_contract_page_edits_its_content(client, editeur, cls_05):
    ObjectifContrat.objects.create(contrat=cls_05, ordre=1, libelle="Prévenir")
    client.force_login(editeur)
    response = client.get(_change(cls_05))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert {"preambule", "diagnostic"} <= set(form.fields)
    # Only the contract's axes are offered for a local label.
    inline = next(i for i in response.context["inline_admin_formsets"] if i.formset.model is LibelleAxe)
    assert sorted(inline.formset.empty_form.fields["axe"].queryset.values_list("numero", flat=True)) == [1, 3, 4]
    data = _post_data(response)
    data["preambule"] = '<p onclick="x()">Le préfet <script>alert(1)</script>et le président</p>'
    data["objectifs-TOTAL_FORMS"] = "2"
    data.update({"objectifs-1-ordre": "", "objectifs-1-libelle": "Accompagner", "objectifs-1-contrat": cls_05.pk})
    data["libelles_axes-TOTAL_FORMS"] = "1"
    data.update({"libelles_axes-0-axe": axe(3).pk, "libelles_axes-0-libelle": "Logement d'abord"})
    response = client.post(_change(cls_05), data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert _contenu(cls_05) == (
        "<p>Le préfet et le président</p>",
        "",
        [(1, "Prévenir"), (2, "Accompagner")],
        [(3, "Logement d'abord")],
    )


def test_the_contract_page_refuses_a_label_on_another_axis(client, editeur, cls_05):
    client.force_login(editeur)
    data = _post_data(client.get(_change(cls_05)))
    data["libelles_axes-TOTAL_FORMS"] = "1"
    data.update({"libelles_axes-0-axe": axe(2).pk, "libelles_axes-0-libelle": "Insertion"})
    response = client.post(_change(cls_05), data)
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert not cls_05.libelles_axes.exists()


def test_signed_contract_content_is_read_only(client, editeur):
    contrat = cls_signe()
    client.force_login(editeur)
    response = client.get(_change(contrat))
    assert response.status_code == 200
    assert "preambule" not in response.context["adminform"].form.fields
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model in (ObjectifContrat, LibelleAxe):
            assert not inline.has_add_permission and not inline.has_change_permission
    assert "Ancien préambule" in response.content.decode()


@pytest.fixture
def pacte_05(cls_05):
    pacte = pacte_local_get_or_create(collectivite=collectivite("D05"))
    Contrat.objects.filter(pk=cls_05.pk).update(pacte_local=pacte)
    return pacte


def test_pacte_local_list_is_scoped(client, editeur, autre_territoire, pacte_05):
    pacte_69 = pacte_local_get_or_create(collectivite=collectivite("D69"))
    url = reverse("admin:contrats_pactelocal_changelist")
    client.force_login(editeur)
    assert {p.pk for p in client.get(url).context["cl"].result_list} == {pacte_05.pk}
    client.force_login(autre_territoire)
    assert {p.pk for p in client.get(url).context["cl"].result_list} == {pacte_69.pk}


@pytest.mark.parametrize(
    ("persona", "status", "editable"),
    [("editeur", 200, True), ("lecteur", 200, False), ("autre_territoire", 404, False)],
)
def test_pacte_local_page(client, request, pacte_05, persona, status, editable):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(_change(pacte_05))
    assert response.status_code == status
    if status != 200:
        assert client.post(_change(pacte_05), {"intitule": "Piraté"}).status_code == 404
        pacte_05.refresh_from_db()
        assert pacte_05.intitule == "Pacte local des solidarités – Département des Hautes-Alpes"
        return
    # Its contracts are listed, each linking to its page; none is edited here.
    inline = response.context["inline_admin_formsets"][0]
    assert [c.reference for c in inline.formset.queryset] == ["CLS-2024-D05"]
    assert _change(Contrat.objects.get(reference="CLS-2024-D05")) in response.content.decode()
    assert not inline.has_add_permission and not inline.has_change_permission
    assert ("intitule" in response.context["adminform"].form.fields) is editable
    if editable:
        data = _post_data(response)
        data["intitule"] = "Pacte local des Hautes-Alpes"
        assert client.post(_change(pacte_05), data).status_code == 302
        pacte_05.refresh_from_db()
        assert pacte_05.intitule == "Pacte local des Hautes-Alpes"


@pytest.mark.parametrize(("persona", "status"), [("editeur", 200), ("lecteur", 403)])
def test_a_ddets_editor_adds_the_pacte_local_of_its_territory(client, request, persona, status):
    client.force_login(request.getfixturevalue(persona))
    add = reverse("admin:contrats_pactelocal_add")
    response = client.get(add)
    assert response.status_code == status
    if status != 200:
        return
    # Only the collectivités of the perimeter are offered.
    offered = set(response.context["adminform"].form.fields["collectivite"].queryset.values_list("code", flat=True))
    assert "D05" in offered and "D69" not in offered
    data = _post_data(response)
    data.update({"collectivite": collectivite("D69").pk, "intitule": ""})
    assert client.post(add, data).status_code == 200
    data["collectivite"] = collectivite("D05").pk
    assert client.post(add, data).status_code == 302
    assert PacteLocal.objects.get().intitule == "Pacte local des solidarités – Département des Hautes-Alpes"


def test_nobody_deletes_a_pacte_local(client, editeur, pacte_05, django_user_model):
    superuser = django_user_model.objects.create_superuser("racine", password="x")
    for user in (editeur, superuser):
        client.force_login(user)
        delete = reverse("admin:contrats_pactelocal_delete", args=[pacte_05.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
    assert PacteLocal.objects.filter(pk=pacte_05.pk).exists()

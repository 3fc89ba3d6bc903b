"""Every front-office form, walked with the table of hostile values (tests/hostile.py).

For each page that posts (a line of ``WALK``: URL name, keys, the persona allowed to use it), the
page is read as a browser would (its first ``<form method="post">`` inside ``<main>``), then each of
its fields is posted with each hostile value of its kind, the other fields as shown. Verdict for
every post: never a 500, never accepted (a redirect means the value went through), nothing changed
in the database, and a page that says what is wrong, in French. Each post runs in a savepoint
rolled back afterwards, so the walk starts from the same data every time. Confirmation pages that ask
nothing (validate a fiche, send a contract to signature) have no field to walk: the matrix
(tests/espace/test_matrice.py) posts to them.
"""

from __future__ import annotations

import re

import pytest
from django import forms
from django.db import transaction
from django.urls import reverse

from tests import hostile
from tests.espace.test_matrice import BROUILLON, SIGNE
from tests.espace.test_matrice import donnees as donnees  # noqa: F401  (the module's data set and users)

#: (URL name, keys, persona): every front-office page that takes a POST, as the persona who may use it.
WALK = [
    ("fiche_creer", {"reference": BROUILLON}, "editeur"),
    ("fiche_modifier", {"reference": BROUILLON, "code": "A1-01"}, "editeur"),
    ("fiche_execution", {"reference": SIGNE, "code": "A1-01"}, "collectivite"),
    ("contrat_statut", {"reference": SIGNE, "action": "clore"}, "editeur"),
    ("contrat_statut", {"reference": SIGNE, "action": "resilier"}, "editeur"),
    ("contrat_statut", {"reference": BROUILLON, "action": "signer"}, "prefecture"),
    ("avenant_proposer", {"reference": SIGNE, "numero": 1, "nature": "prevu"}, "editeur"),
    ("avenant_proposer", {"reference": SIGNE, "numero": 1, "nature": "plafond"}, "editeur"),
    ("avenant_proposer", {"reference": SIGNE, "numero": 1, "nature": "fiche_ajout"}, "editeur"),
    ("avenant_statut", {"reference": SIGNE, "numero": 1, "action": "signer"}, "editeur"),
]

MODELS = hostile.Snapshot.models(["pacte", "contrats", "actions", "financement"])


def _main_form(html: str) -> str:
    """The page from its ``<main>`` on, starting at its first form that posts."""
    main = html[html.find("<main") :]
    match = re.search(r"<form\b[^>]*method=\"post\"", main, re.IGNORECASE)
    assert match, "aucun formulaire POST dans <main>"
    return main[match.start() :]


def _form_fields(context) -> dict[str, tuple[forms.BaseForm, str]]:
    """HTML name → (form, field name), for every form and formset the view gave its template."""
    found: list[forms.BaseForm] = []

    def collect(value):
        if isinstance(value, forms.BaseForm):
            found.append(value)
        elif isinstance(value, forms.BaseFormSet):
            found.extend([*value.forms, value.management_form])
        elif isinstance(value, list | tuple):
            for item in value[:200]:
                if isinstance(item, forms.BaseForm | forms.BaseFormSet):
                    collect(item)

    for layer in context if isinstance(context, list) else [context]:
        for value in layer.flatten().values():
            collect(value)
    return {form.add_prefix(name): (form, name) for form in found for name in form.fields}


def _family(html_name: str) -> str:
    """``prevu-etat-2024`` and ``prevu-etat-2025`` are the same field of the grid: one is walked."""
    return re.sub(r"\d+", "#", html_name)


def _targets(controls, mapping) -> list[tuple[str, str, list]]:
    targets = []
    families = set()
    for control in controls:
        if control.name not in mapping or control.disabled or control.type in hostile.NOT_SENT:
            continue
        if _family(control.name) in families:
            continue
        families.add(_family(control.name))
        form, name = mapping[control.name]
        if isinstance(form, forms.formsets.ManagementForm):
            if name in ("TOTAL_FORMS", "INITIAL_FORMS"):
                targets.append((control.name, "gestion", list(hostile.HOSTILES["gestion"])))
            continue
        if control.type == "hidden":
            targets.append((control.name, "cache", list(hostile.HOSTILES["cache"])))
            continue
        kind = hostile.kind_of(form, name, control.type)
        if kind is not None:
            values = hostile.values_for(kind, form.fields[name], form, name)
            if form.empty_permitted or "nouveau" in (form.prefix or ""):
                values = [v for v in values if v != ""]  # a row to add, left empty, adds nothing
            targets.append((control.name, kind, values))
    return targets


def promener(client, url: str) -> tuple[list[tuple[str, str, list]], list[str]]:
    """Walks the page ``url``: reads its form, posts each field with each hostile value of its kind (the other
    fields as shown), each post in a savepoint rolled back; returns the fields walked (name, kind, values) and
    what went wrong (a 500, a value accepted, the database changed, no message or an English one)."""
    page = client.get(url)
    assert page.status_code == 200, f"GET {url} : {page.status_code}"
    parser = hostile.FormParser.parse(_main_form(page.content.decode()))
    base = parser.data()
    targets = _targets(parser.controls, _form_fields(page.context))
    assert targets, f"{url} : aucun champ reconnu"
    failures = []
    # Each post is rolled back: the database before every post is the one before the first.
    before = hostile.Snapshot.take(MODELS)
    for html_name, kind, values in targets:
        for value in values:
            data = {**base, html_name: list(value) if isinstance(value, tuple) else [value]}
            ecrit = hostile.ecritures()
            with transaction.atomic():
                response = client.post(url, data)
                changes = before.changes_since(ecrit, MODELS)
                transaction.set_rollback(True)
            shown = hostile.show(value)
            if response.status_code >= 500:
                failures.append(f"{html_name}={shown}: erreur {response.status_code}")
                continue
            if changes:
                failures.append(f"{html_name}={shown}: la base a changé ({changes[:2]})")
            if response.status_code in (301, 302, 303):
                # A tampered hidden input need not be answered (a browser never sends it): nothing
                # may change, which the snapshot above checks. Any other value must be refused.
                if kind not in ("cache", "gestion"):
                    failures.append(f"{html_name}={shown}: valeur acceptée ({kind})")
                continue
            errors = hostile.error_texts(response.content.decode())
            if response.status_code == 200 and not errors:
                failures.append(f"{html_name}={shown}: aucun message d'erreur")
            for _, text in errors:
                if phrase := hostile.english(text):
                    failures.append(f"{html_name}={shown}: message en anglais « {phrase} » : {text[:120]}")
    return targets, failures


@pytest.mark.parametrize(("name", "kwargs", "persona"), WALK, ids=lambda v: v if isinstance(v, str) else None)
def test_hostile_values_are_refused_in_french(client, db, donnees, name, kwargs, persona):  # noqa: F811
    _, users = donnees
    client.force_login(users[persona])
    client.raise_request_exception = False
    url = reverse(f"espace:{name}", kwargs=kwargs)
    targets, failures = promener(client, url)
    if name == "fiche_modifier":
        # The fiche's page holds a field of every kind: the walk reaches each of them.
        kinds = {kind for _, kind, _ in targets}
        assert kinds >= {"cache", "montant", "choix", "date", "nombre", "identifiant", "texte", "texte_long"}, kinds
    assert not failures, f"{url} ({persona}) :\n" + "\n".join(failures[:40])

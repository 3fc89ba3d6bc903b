"""Hostile input on every page of the back-office: never a 500, nothing saved, a French message.

The walk discovers the model admins from ``admin.site._registry`` (a new admin is walked without
touching this file; it only needs an object in ``tests/fixtures_donnees.py``). As the superuser, for
each admin:

- the add page, filled first with the values of an existing object, changed until the page accepts
  them (a free year, another contract…), and the change page of each object of the data set (the
  draft and the signed contract);
- the page's form is read from its HTML as a browser would post it (tests/hostile.py), and posted
  again with one field replaced by each hostile value of its kind (``hostile.HOSTILES``): each field
  of the main form, of the first row of each inline, and of a new inline row filled with valid
  values (a copy of the first row, changed until the page accepts it);
- each answer must not be a 500, must leave the database as it was (a snapshot of every row of the
  project's models, audit trail and timestamps left out), and must say what is wrong in French.

The admin actions are posted with selections that do not exist, that are outside the perimeter of
the Hautes-Alpes' editor, or that are not identifiers: never a 500, nothing changed.

Each post runs in a savepoint rolled back afterwards, so one data set serves the whole module. To
stay near a minute, the values of the same rank of all the fields of a form go in one post, and a
field whose answer there is not a clear refusal of its own is posted again alone. A
test per admin and page lists every failure it found, grouped by cause; set ``HOSTILES_RAPPORT`` to
a file name to also get them as JSON lines.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.template import Template
from django.urls import reverse

from tests import hostile
from tests.fixtures_donnees import Donnees, construire_donnees

PROJECT_APPS = {"pacte", "contrats", "actions", "financement"}
REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
ADMINS = {model._meta.label: (model, model_admin) for model, model_admin in REGISTRY}

#: Values tried, at most, to turn a copied row into one the page accepts.
MAX_TRIES = 25


@pytest.fixture(scope="module")
def donnees(django_db_setup, django_db_blocker):
    """One data set for the module, created in a transaction rolled back at its end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield construire_donnees()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@contextmanager
def html_only():
    """The test client keeps a copy of every template context it renders (``response.context``);
    an admin page renders hundreds of widget templates. The hostile posts only read the HTML."""
    from django.test.utils import _TestState

    saved = getattr(getattr(_TestState, "saved_data", None), "template_render", None)
    instrumented = Template._render
    if saved is not None:
        Template._render = saved
    try:
        yield
    finally:
        Template._render = instrumented


@contextmanager
def quiet_500():
    """The 500s are reported by the walk, one line each: not as a traceback in the captured log."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


# --- Outcomes and failures ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: int | None
    html: str
    error: str | None
    changes: list[str]


@dataclass
class Failure:
    where: str
    field: str
    value: str
    status: str
    cause: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where} · {self.field} = {self.value} → {self.status} : {self.detail}"


CAUSES = {
    "500": "500 (exception)",
    "enregistre": "enregistré alors que la valeur devait être refusée",
    "accepte": "accepté sans erreur (rien d'enregistré)",
    "sans_message": "refusé sans message d'erreur lisible",
    "anglais": "message d'erreur en anglais",
    "base": "le formulaire valide est refusé (base de la marche)",
}


def report(failures: list[Failure], notes: list[str], posts: int) -> str:
    lines = [f"{len(failures)} échec(s) en {posts} requêtes"]
    by_cause = defaultdict(list)
    for failure in failures:
        by_cause[failure.cause].append(failure)
    for cause, group in by_cause.items():
        lines.append(f"\n== {CAUSES[cause]} ({len(group)})")
        lines.extend(f"  {failure}" for failure in group)
    if notes:
        lines.append("\n== notes")
        lines.extend(f"  {note}" for note in notes)
    return "\n".join(lines)


def record(failures: list[Failure]) -> None:
    path = os.environ.get("HOSTILES_RAPPORT")
    if path and failures:
        with open(path, "a", encoding="utf-8") as out:
            for failure in failures:
                out.write(json.dumps(failure.__dict__, ensure_ascii=False) + "\n")


# --- Targets: the fields a walk fills with hostile values -------------------------------------------------


@dataclass
class Target:
    name: str
    kind: str
    values: list
    hidden: bool = False
    label: str = ""


def form_map(context) -> dict[str, tuple[forms.BaseForm, str]]:
    """HTML name → (form, field name), for the main form, each inline's rows, empty row and
    management form."""
    if context is None:
        return {}
    all_forms = []
    if "adminform" in context:
        all_forms.append(context["adminform"].form)
    for inline in context.get("inline_admin_formsets", None) or []:
        formset = inline.formset
        all_forms.extend([*formset.forms, formset.empty_form, formset.management_form])
    mapping = {}
    for form in all_forms:
        for name in form.fields:
            mapping[form.add_prefix(name)] = (form, name)
            mapping[form.add_prefix(name) + "_0"] = (form, name)  # the date of a date and time
    return mapping


def inline_formsets(context) -> list:
    if context is None:
        return []
    return list(context.get("inline_admin_formsets", None) or [])


def targets_of(names, controls: dict[str, hostile.Control], mapping, hidden: bool = True) -> list[Target]:
    """The fields to fill with hostile values among ``names``; hidden inputs only if ``hidden`` (they
    are tampered on existing objects: on a new one, a version or a row id is meaningless)."""
    targets = []
    for name in names:
        control = controls[name]
        if name not in mapping or control.disabled or control.type in hostile.NOT_SENT:
            continue
        form, field_name = mapping[name]
        if control.type == "hidden" or isinstance(form, forms.formsets.ManagementForm):
            if not hidden:
                continue
            if not isinstance(form, forms.formsets.ManagementForm):
                targets.append(Target(name, "cache", list(hostile.HOSTILES["cache"]), hidden=True))
            elif field_name in ("TOTAL_FORMS", "INITIAL_FORMS"):
                targets.append(Target(name, "gestion", list(hostile.HOSTILES["gestion"]), hidden=True))
            continue
        if name.endswith("_1") and name not in (form.add_prefix(f) for f in form.fields):
            continue  # the time of a date and time
        kind = hostile.kind_of(form, field_name, control.type)
        if kind is not None:
            targets.append(Target(name, kind, hostile.values_for(kind, form.fields[field_name], form, field_name)))
    return targets


def replaced(data: dict, name: str, value) -> dict:
    new = dict(data)
    new[name] = list(value) if isinstance(value, list | tuple) else [value]
    return new


# --- The walk -------------------------------------------------------------------------------------------


class Walk:
    """Posts to one admin page and judges each answer."""

    def __init__(self, client, where: str, models_):
        self.client = client
        self.where = where
        self.models = models_
        self.before = hostile.Snapshot.take(models_)
        self.ecrit = hostile.ecritures()
        self.failures: list[Failure] = []
        self.notes: list[str] = []
        self._seen_errors: set[str] = set()
        self.posts = 0

    def fail(self, field_name: str, value, outcome: Outcome | None, cause: str, detail: str) -> None:
        status = "exception" if outcome is None or outcome.error else str(outcome.status)
        self.failures.append(Failure(self.where, field_name, hostile.show(value), status, cause, detail))

    def post(self, url: str, data: dict) -> Outcome:
        self.posts += 1
        self.client.cookies.pop("messages", None)
        with transaction.atomic(), quiet_500():
            status, html, error = None, "", None
            try:
                with html_only():
                    response = self.client.post(url, data)
                status = response.status_code
                if status == 200:
                    html = response.content.decode()
            except Exception as exc:  # the test client re-raises what the view raised: a 500
                error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            try:
                changes = self.before.changes_since(self.ecrit, self.models)
            except Exception as exc:
                changes = [f"base de données inutilisable après la requête ({type(exc).__name__})"]
            transaction.set_rollback(True)
        return Outcome(status, html, error, changes)

    def judge(self, target: Target, value, outcome: Outcome) -> None:
        name = target.label or target.name
        if outcome.error:
            self.fail(name, value, outcome, "500", outcome.error)
            return
        if outcome.changes:
            self.fail(name, value, outcome, "enregistre", " ; ".join(outcome.changes))
            return
        if target.hidden:
            return
        if outcome.status in (301, 302, 303):
            self.fail(name, value, outcome, "accepte", "redirection : la page a accepté la valeur")
        elif outcome.status == 200:
            errors = hostile.error_texts(outcome.html)
            specific = [text for kind, text in errors if kind != "note"]
            english = [text for _, text in errors if hostile.english(text)]
            if not errors:
                self.fail(name, value, outcome, "accepte", "la page revient sans aucune erreur")
            elif english:
                self.fail(name, value, outcome, "anglais", " | ".join(english)[:300])
            elif not specific:
                self.fail(name, value, outcome, "sans_message", f"seulement : {errors[0][1]}")

    def judge_unmoved(self, label: str, value, outcome: Outcome) -> None:
        """No 500, nothing changed, and an error in French if there is one (actions, pages without a form)."""
        if outcome.error:
            self.fail(label, value, outcome, "500", outcome.error)
        elif outcome.changes:
            self.fail(label, value, outcome, "enregistre", " ; ".join(outcome.changes))
        elif outcome.status == 200:
            english = [text for _, text in hostile.error_texts(outcome.html) if hostile.english(text)]
            if english:
                self.fail(label, value, outcome, "anglais", " | ".join(english)[:300])

    def accepted(self, url: str, data: dict, label: str) -> tuple[bool, Outcome]:
        """Posts ``data`` (a valid form, hopefully): a redirect without exception accepts it."""
        outcome = self.post(url, data)
        if outcome.error and outcome.error not in self._seen_errors:
            self._seen_errors.add(outcome.error)
            self.fail(label, "(saisie valide)", outcome, "500", outcome.error)
        return (outcome.status in (301, 302, 303) and not outcome.error), outcome

    def walk_targets(self, url: str, base: dict, targets: list[Target]) -> None:
        """Posts each target's hostile values.

        To stay fast, the values of the same rank of every field go in one post; a field whose answer
        in that post is not a clear refusal of its own (an error under the field, nothing saved, no
        500) is posted again alone, and judged on that answer. Hidden inputs go in posts of their own:
        the management forms, then the other hidden inputs.
        """
        groups = [
            [t for t in targets if not t.hidden],
            [t for t in targets if t.hidden and t.kind == "gestion"],
            [t for t in targets if t.hidden and t.kind != "gestion"],
        ]
        for group in filter(None, groups):
            for rank in range(max(len(t.values) for t in group)):
                posted = [(t, t.values[rank]) for t in group if rank < len(t.values)]
                if len(posted) > 1:
                    data = base
                    for target, value in posted:
                        data = replaced(data, target.name, value)
                    posted = self.suspects(posted, self.post(url, data))
                for target, value in posted:
                    self.judge(target, value, self.post(url, replaced(base, target.name, value)))

    @staticmethod
    def suspects(posted: list[tuple[Target, object]], outcome: Outcome) -> list[tuple[Target, object]]:
        """The fields of a combined post that need a post of their own to be judged."""
        if outcome.error or outcome.changes:
            return posted
        if all(target.hidden for target, _ in posted):
            return []
        if outcome.status != 200:
            return posted
        by_field, others = hostile.field_errors(outcome.html)
        if any(hostile.english(text) for text in others):
            return posted
        return [
            (target, value)
            for target, value in posted
            if target.name not in by_field or hostile.english(by_field[target.name])
        ]


def _errors_of(outcome: Outcome) -> str:
    if outcome.error:
        return outcome.error
    texts = [text for kind, text in hostile.error_texts(outcome.html) if kind != "note"]
    return " | ".join(texts)[:300] or f"statut {outcome.status}"


def donor_values(obj, form: forms.BaseForm, field_name: str) -> list[str] | None:
    """The value of ``obj``'s field as the form would post it, ``None`` when the model has no such field."""
    mfield = hostile.model_field(form, field_name)
    if mfield is None or not mfield.concrete or isinstance(mfield, models.FileField):
        return None
    if mfield.many_to_many:
        return [str(pk) for pk in getattr(obj, field_name).values_list("pk", flat=True)]
    value = getattr(obj, mfield.attname)
    if isinstance(mfield, models.BooleanField):
        return ["on"] if value else []
    if value is None:
        return [""]
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return [value.isoformat()]
    if isinstance(mfield, models.JSONField):
        return [json.dumps(value)]
    return [str(value)]


FILLERS = {
    "texte": "Valeur de test",
    "identifiant": "TEST-01",
    "siret": "53481452700014",
    "texte_long": "Texte de test.",
    "mot_de_passe": "Un mot de passe solide 2024 !",
    "nombre": "1",
    "montant": "1000",
    "annee": "2025",
    "date": "2025-01-15",
}


def fill_required(data: dict, names, controls, mapping) -> None:
    """Gives a plausible value to each required field left empty (what a user would type)."""
    for name in names:
        if name not in mapping or data.get(name) not in ([], [""], None):
            continue
        form, field_name = mapping[name]
        field_ = form.fields[field_name]
        control = controls[name]
        kind = hostile.kind_of(form, field_name, control.type)
        # Django's password fields are optional for the form, required when the password is usable.
        if isinstance(form, forms.formsets.ManagementForm) or not (field_.required or kind == "mot_de_passe"):
            continue
        if kind in ("choix", "choix_multiple"):
            options = [v for v, _ in control.options if v]
            if not options and isinstance(field_, forms.ModelChoiceField):
                options = [str(pk) for pk in field_.queryset.values_list("pk", flat=True)[:1]]
            if options:
                data[name] = options[:1]
        elif control.type == "email":
            data[name] = ["agent-test@example.gouv.fr"]
        elif kind in FILLERS:
            data[name] = [FILLERS[kind]]


def variations(data: dict, names, controls, mapping):
    """The data as copied, then changed one field (then two) at a time: another year, another
    choice, an emptied optional text, a suffixed key — what makes a copy of a row unique again."""
    yield "tel quel", data
    singles = []
    for name in names:
        if name not in mapping or controls[name].type == "hidden":
            continue
        form, field_name = mapping[name]
        if isinstance(form, forms.formsets.ManagementForm):
            continue
        field_ = form.fields[field_name]
        kind = hostile.kind_of(form, field_name, controls[name].type)
        current = (data.get(name) or [""])[0]
        if kind in ("annee", "nombre"):
            if current.isdigit():
                singles += [(name, str(int(current) + k)) for k in range(1, 6)]
            elif not current:
                singles += [(name, str(k)) for k in range(1, 4)]
        elif kind in ("texte", "identifiant", "siret") and current:
            if not field_.required:
                singles.append((name, ""))
            singles.append((name, current[: max(1, (getattr(field_, "max_length", None) or 99) - 1)] + "2"))
        elif kind == "choix":
            options = [v for v, _ in controls[name].options if v and v != current]
            if isinstance(field_, forms.ModelChoiceField) and len(options) < 2:
                options += [str(pk) for pk in field_.queryset.values_list("pk", flat=True)[:6] if str(pk) != current]
            singles += [(name, option) for option in dict.fromkeys(options[:6])]
    for name, value in singles:
        yield f"{name} = {value}", replaced(data, name, value)
    for (name_a, value_a), (name_b, value_b) in itertools.combinations(singles, 2):
        if name_a != name_b:
            yield (
                f"{name_a} = {value_a}, {name_b} = {value_b}",
                replaced(replaced(data, name_a, value_a), name_b, value_b),
            )


def valid_base(walk: Walk, url: str, data: dict, names, controls, mapping, label: str) -> dict:
    """The first variation of ``data`` the page accepts; ``data`` itself (and a note) if none is."""
    first = None
    for tries, (description, candidate) in enumerate(variations(data, names, controls, mapping)):
        if tries >= MAX_TRIES:
            break
        ok, outcome = walk.accepted(url, candidate, label)
        if ok:
            return candidate
        first = first or f"{description} : {_errors_of(outcome)}"
    walk.notes.append(
        f"{walk.where} · {label} : aucune saisie valide trouvée, les valeurs hostiles y sont refusées "
        f"peut-être pour une autre raison ({first})"
    )
    return data


def new_row(inline, controls: dict[str, hostile.Control], data: dict) -> tuple[dict, list[str]] | None:
    """The data with a new row in ``inline``: its empty form, filled with a copy of the first row."""
    formset = inline.formset
    prefix = formset.prefix
    if not inline.has_add_permission or formset.initial_form_count() == 0:
        return None
    total = int(data[f"{prefix}-TOTAL_FORMS"][0])
    initial = int(data[f"{prefix}-INITIAL_FORMS"][0])
    data = dict(data)
    if total > initial and any(n.startswith(f"{prefix}-{initial}-") for n in controls):
        index = initial  # the page already offers an empty row
        row_names = [n for n in controls if n.startswith(f"{prefix}-{index}-")]
    else:
        index = total
        template = [n for n in controls if n.startswith(f"{prefix}-__prefix__-")]
        if not template:
            return None
        row_names = []
        for name in template:
            real = name.replace("__prefix__", str(index))
            data[real] = controls[name].sent()
            row_names.append(real)
            controls[real] = controls[name]
        data[f"{prefix}-TOTAL_FORMS"] = [str(total + 1)]
    fk = getattr(formset, "fk", None)
    for name in row_names:
        suffix = name[len(f"{prefix}-{index}-") :]
        if suffix in ("id", "DELETE") or (fk is not None and suffix == fk.name):
            continue
        source = f"{prefix}-0-{suffix}"
        if source in data:
            data[name] = list(data[source])
    return data, row_names


def walk_page(walk: Walk, url: str, model, donor=None) -> None:
    """Walks one add or change page (see the module's docstring)."""
    try:
        response = walk.client.get(url)
    except Exception as exc:
        walk.fail("(GET)", "", None, "500", f"{type(exc).__name__}: {exc}"[:300])
        return
    parser = hostile.FormParser.parse(response.content.decode(), f"{model._meta.model_name}_form")
    if response.status_code != 200 or not parser.found:
        # No form for this user: a post must still be answered without a 500, changing nothing.
        walk.judge_unmoved("(POST sans formulaire)", "", walk.post(url, {}))
        return
    controls = {c.name: c for c in parser.controls}
    data = parser.data()
    mapping = form_map(response.context)
    main_form = response.context["adminform"].form
    main_names = [n for n in controls if n in mapping and mapping[n][0] is main_form]

    if donor is not None:
        for name in main_names:
            values = donor_values(donor, main_form, mapping[name][1])
            if values is not None and not name.endswith("_1"):
                data[name] = values
        fill_required(data, main_names, controls, mapping)
        data = valid_base(walk, url, data, main_names, controls, mapping, "(formulaire d'ajout)")
    else:
        ok, outcome = walk.accepted(url, data, "(formulaire intact)")
        if outcome.changes:
            walk.fail("(formulaire intact)", "", outcome, "enregistre", " ; ".join(outcome.changes))
        elif not ok and not outcome.error and outcome.status == 200:
            walk.fail("(formulaire intact)", "", outcome, "base", _errors_of(outcome))

    first_rows = [
        n for n in controls if any(n.startswith(f"{i.formset.prefix}-0-") for i in inline_formsets(response.context))
    ]
    management = [n for n in controls if n.endswith(("-TOTAL_FORMS", "-INITIAL_FORMS"))]
    names = [*main_names, *first_rows, *management]
    walk.walk_targets(url, data, targets_of(names, controls, mapping, hidden=donor is None))

    for inline in inline_formsets(response.context):
        built = new_row(inline, controls, data)
        if built is None:
            continue
        row_data, row_names = built
        label = f"(nouvelle ligne {inline.formset.prefix})"
        row_mapping = mapping_for_row(mapping, inline, row_names)
        fill_required(row_data, row_names, controls, row_mapping)
        row_data = valid_base(walk, url, row_data, row_names, controls, row_mapping, label)
        targets = targets_of(row_names, controls, row_mapping, hidden=False)
        for target in targets:
            target.label = f"{target.name} (nouvelle ligne)"
        walk.walk_targets(url, row_data, targets)


def mapping_for_row(mapping, inline, row_names) -> dict:
    """The new row's names map to the formset's empty form (same fields, same kinds)."""
    empty = inline.formset.empty_form
    result = dict(mapping)
    for name in row_names:
        suffix = name.rsplit("-", 1)[1]
        field_name = suffix[:-2] if suffix.endswith(("_0", "_1")) and suffix[:-2] in empty.fields else suffix
        if field_name in empty.fields:
            result[name] = (empty, field_name)
    return result


def snapshot_models() -> list:
    """The models whose rows must not change: the project's apps and every app with a model admin."""
    return hostile.Snapshot.models(PROJECT_APPS | {model._meta.app_label for model, _ in ADMINS.values()})


def change_url(model, obj) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])


def add_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")


def conclude(walk: Walk) -> None:
    record(walk.failures)
    if walk.failures:
        pytest.fail(report(walk.failures, walk.notes, walk.posts), pytrace=False)
    print(f"{walk.where} : {walk.posts} requêtes", *walk.notes, sep="\n  ")


# --- Tests ----------------------------------------------------------------------------------------------


def test_chaque_admin_a_des_objets_dans_le_jeu_de_donnees(db, donnees: Donnees):
    """A new admin is walked automatically, on the condition that the data set has one of its objects."""
    missing = [label for label, (model, _) in ADMINS.items() if not donnees.objets.get(model)]
    assert missing == [], f"à ajouter dans tests/fixtures_donnees.py : {missing}"


@pytest.mark.parametrize("vue", ["add", "change"])
@pytest.mark.parametrize("label", list(ADMINS))
def test_saisies_hostiles(client, db, donnees: Donnees, label: str, vue: str):
    model, _model_admin = ADMINS[label]
    client.force_login(donnees.superuser)
    variants = donnees.objets.get(model) or {}
    assert variants, f"{label} : aucun objet dans le jeu de données (tests/fixtures_donnees.py)"
    walk = Walk(client, "", snapshot_models())
    if vue == "add":
        walk.where = f"{label} [add]"
        walk_page(walk, add_url(model), model, donor=next(iter(variants.values())))
    else:
        for variant, obj in variants.items():
            walk.where = f"{label} [change {variant}]"
            walk_page(walk, change_url(model, obj), model)
    conclude(walk)


@pytest.mark.parametrize("label", list(ADMINS))
def test_actions_hostiles(client, db, donnees: Donnees, label: str):
    """Every action of the admin (the site's too), on selections that must select nothing."""
    model, model_admin = ADMINS[label]
    names = [name for name, _ in admin.site.actions] + [
        action if isinstance(action, str) else action.__name__ for action in (model_admin.actions or ())
    ]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    walk = Walk(client, f"{label} [actions]", snapshot_models())
    selections = [(donnees.superuser, "999999"), (donnees.superuser, "abc")]
    if hasattr(model._default_manager, "for_user") and model in donnees.hors_perimetre:
        selections.append((donnees.editeur_05, str(donnees.hors_perimetre[model].pk)))
    elif hasattr(model._default_manager, "for_user"):
        walk.notes.append(f"{label} : pas d'objet hors périmètre dans le jeu de données")
    for user, selected in selections:
        client.force_login(user)
        walk.before = hostile.Snapshot.take(walk.models)
        walk.ecrit = hostile.ecritures()
        for name in dict.fromkeys(names):
            data = {"action": name, "_selected_action": [selected], "index": "0", "select_across": "0"}
            walk.judge_unmoved(f"action {name} ({user.username})", selected, walk.post(url, data))
    conclude(walk)


# --- The walk's own tools -------------------------------------------------------------------------------


def test_le_formulaire_est_lu_comme_un_navigateur():
    html = """
    <form id="autre"><input name="ailleurs" value="0"></form>
    <form id="contrat_form">
      <input type="hidden" name="comites-TOTAL_FORMS" value="1">
      <input name="titre" value="CLS &amp; co"><input name="vide">
      <input type="checkbox" name="coche" checked><input type="checkbox" name="pas_coche" value="x">
      <input type="checkbox" name="axes" value="1" checked><input type="checkbox" name="axes" value="2">
      <input type="radio" name="choix" value="a"><input type="radio" name="choix" value="b" checked>
      <select name="statut"><option value="">---</option><option value="signe" selected>Signé</option></select>
      <select name="premiere"><option value="1">un</option><option value="2">deux</option></select>
      <select name="plusieurs" multiple><option value="3" selected>trois</option><option selected>quatre</option>
      </select>
      <textarea name="motif">
Première ligne
seconde</textarea>
      <input name="fige" value="9" disabled><input type="submit" name="_save" value="Enregistrer">
      <input type="file" name="document_signe">
    </form>"""
    assert hostile.FormParser.parse(html, "contrat_form").data() == {
        "comites-TOTAL_FORMS": ["1"],
        "titre": ["CLS & co"],
        "vide": [""],
        "coche": ["on"],
        "pas_coche": [],
        "axes": ["1"],
        "choix": ["b"],
        "statut": ["signe"],
        "premiere": ["1"],
        "plusieurs": ["3", "quatre"],
        "motif": ["Première ligne\nseconde"],
        "fige": [],
        "_save": [],
        "document_signe": [],
    }
    assert not hostile.FormParser.parse(html, "fiche_form").found


def test_les_erreurs_sont_lues_champ_par_champ():
    html = """
    <p class="errornote">Corrigez les erreurs ci-dessous.</p>
    <ul class="errorlist nonfield"><li>Enter a valid date.</li></ul>
    <div class="form-row errors field-titre"><ul class="errorlist" id="id_titre_error"><li>Ce champ est
      obligatoire.</li></ul></div>
    <td><ul class="errorlist" id="id_plafonds-0-annee_error"><li>2999 est hors de la période.</li></ul></td>
    <ul class="messagelist"><li class="error">Rien n'a été enregistré.</li><li class="success">Ok</li></ul>"""
    by_field, others = hostile.field_errors(html)
    assert by_field == {"titre": "Ce champ est obligatoire.", "plafonds-0-annee": "2999 est hors de la période."}
    assert others == ["Enter a valid date.", "Rien n'a été enregistré."]
    assert [kind for kind, _ in hostile.error_texts(html)] == ["note", "liste", "liste", "liste", "message"]
    assert [hostile.english(text) for text in others] == ["Enter a", None]


@pytest.mark.parametrize(
    ("kind", "legitimes"),
    [
        ("annee", ["2024", "2027", "2019"]),
        ("montant", ["0", "12.34", "12,34", "1000000"]),
        ("date", ["2024-01-01", "31/12/2027"]),
        ("texte", ["Hautes-Alpes", "Côte-d'Or", "L'Haÿ-les-Roses"]),
        ("siret", ["53481452700014", ""]),
    ],
)
def test_la_table_ne_refuse_pas_des_valeurs_legitimes(kind, legitimes):
    """The table lists only values every field of the kind must refuse (see ``hostile.HOSTILES``)."""
    assert set(legitimes).isdisjoint(hostile.HOSTILES[kind])


# --- The walk's detector of writes ------------------------------------------------------------------------


def test_the_walks_see_every_write_and_ignore_a_rewrite_of_the_same_values(db):
    """``hostile.ecritures`` moves on any written row; ``changes_since`` then names the change, and says nothing
    when a row was rewritten with the values it had (what the walks' verdict \"nothing changed\" means)."""
    from tests.factories import FicheActionFactory

    fiche = FicheActionFactory(intitule="Bus")
    models_ = hostile.Snapshot.models(["actions"])
    before, ecrit = hostile.Snapshot.take(models_), hostile.ecritures()
    assert before.changes_since(ecrit, models_) == []
    FicheAction = type(fiche)
    FicheAction.objects.filter(pk=fiche.pk).update(intitule="Bus")
    assert hostile.ecritures() > ecrit
    assert before.changes_since(ecrit, models_) == []
    FicheAction.objects.filter(pk=fiche.pk).update(intitule="Navette")
    changes = before.changes_since(ecrit, models_)
    assert len(changes) == 1 and "intitule: 'Bus' → 'Navette'" in changes[0], changes

"""The confirmation page of an action that cannot be undone, in the front office.

The same idea as the back-office's ``pacte.admin_base.confirm_action``: a GET shows what will happen
(the consequences, in French) and the form that asks what the service needs (motif, date…); the POST
of that form runs the service. A refusal of the service is shown on the page, nothing written.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from espace.forms import EspaceForm, service_errors_to_form


def confirmer(
    request,
    *,
    titre: str,
    objet: str,
    consequences: list[str],
    apply: Callable[[dict], object],
    retour: str,
    succes: str,
    form_class: type[EspaceForm] = EspaceForm,
    initial: dict | None = None,
    breadcrumb_links: list[dict] | None = None,
    bouton: str = "Confirmer",
    template_name: str = "espace/confirmation.html",
    extra_context: dict | None = None,
):
    """Shows the confirmation page, or on a valid POST runs ``apply(cleaned_data)`` and goes to ``retour``.

    ``objet`` names what the action concerns ("Contrat CLS-2024-D05 – …"); ``succes`` is the message
    shown after it is done. ``apply`` calls a service; its ``ValidationError`` lands on the form.
    ``template_name`` (extending ``espace/confirmation.html``) and ``extra_context`` show more than the
    consequences (the signatories of a contract being signed).
    """
    form = form_class(data=request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            apply(form.cleaned_data)
        except ValidationError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(request, succes)
            return redirect(retour)
    context = {
        "title": titre,
        "objet": objet,
        "consequences": consequences,
        "form": form,
        "retour": retour,
        "bouton": bouton,
        # root_dir: the DSFR's breadcrumb reads it for its first link ("Accueil").
        "breadcrumb_data": {"root_dir": reverse("espace:accueil"), "links": breadcrumb_links or [], "current": titre},
        **(extra_context or {}),
    }
    return render(request, template_name, context, status=200)

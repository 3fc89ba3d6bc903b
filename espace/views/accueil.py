"""The home page: what the signed-in agent has to do now, depending on who it works for (espace.selectors)."""

from django.shortcuts import render

from espace.selectors import SELECTEURS, persona
from pacte.context_processors import identite
from pacte.perms import can_enter_execution, can_prepare, can_sign


def accueil(request):
    """Each persona's home: DDETS (what to prepare), collectivité (what to enter), préfecture (what to sign),
    DREETS and administration centrale (the state of their contracts), partner (the actions it carries).

    Every line links to where it is done when the user may do it there (the predicates asked without a contract:
    every line comes from the user's perimeter), else to the page that shows it.
    """
    user = request.user
    moi = identite(user)  # first: loads the organisation with its territory, which the rest reads
    qui = persona(user)
    context = {
        "title": "Accueil",
        "identite": moi,
        "peut_preparer": can_prepare(user),
        "peut_saisir": can_enter_execution(user),
        "peut_signer": can_sign(user),
        **SELECTEURS[qui](user),
    }
    return render(request, f"espace/accueil/{qui}.html", context)

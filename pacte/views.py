from django.shortcuts import render

from pacte.perimeters import perimetre_label


def accueil(request):
    """Home page: who the user is and what it sees, with a link to the back-office."""
    return render(request, "pacte/accueil.html", {"perimetre": perimetre_label(request.user), "title": "Accueil"})

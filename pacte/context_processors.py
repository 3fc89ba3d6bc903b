def skiplinks(request) -> dict:
    """The DSFR's "skip links" (RGAA): straight to the content or to the footer."""
    return {
        "skiplinks": [
            {"link": "#content", "label": "Contenu"},
            {"link": "#footer", "label": "Pied de page"},
        ]
    }

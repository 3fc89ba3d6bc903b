"""The sheet of the contracts list (``contrats_export``): one row per contract, natural keys (its reference, the
collectivité's code), French headers. Exported only: contracts are created and signed on their pages."""

from __future__ import annotations

from pacte.resources import Colonne

COLONNES_CONTRAT: tuple[Colonne, ...] = (
    Colonne("reference", "Référence", largeur=16),
    Colonne("titre", "Titre", largeur=40),
    Colonne("type_contrat", "Type", largeur=22),
    Colonne("collectivite_code", "Code de la collectivité", largeur=10),
    Colonne("collectivite", "Collectivité", largeur=30),
    Colonne("date_debut", "Début", type="date", largeur=11),
    Colonne("date_fin", "Fin", type="date", largeur=11),
    Colonne("statut", "Statut", largeur=18),
    Colonne("date_signature", "Signé le", type="date", largeur=11),
    Colonne("nb_fiches", "Fiches", type="entier", largeur=8),
    Colonne("etat_prevu", "Prévu de l'État (fiches actives)", type="montant", largeur=16),
)

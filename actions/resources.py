"""The sheets of the fiches actions and of their indicators, as the exports write them, the import template
documents them and the import reads them back (``financement.importation``).

One row of « Fiches » per fiche action, keyed by the contract's reference and the fiche's code (its natural key);
one row of « Indicateurs » per indicator and year, keyed by the fiche and the indicator's name. The money of a fiche
is in the sheet « Financements » (``financement.resources``). Every column is declared here once: its French
header, the synonyms that agents' own files use, its kind and width, and what it holds (README, « Import Excel »).
"""

from __future__ import annotations

from pacte.resources import Colonne

CONTRAT = Colonne(
    "contrat",
    "Contrat",
    ("référence du contrat", "référence contrat", "réf contrat", "réf. du contrat", "contrat de rattachement"),
    largeur=16,
    aide="Référence du contrat (ex. CLS-2024-D05). Vide : le contrat dans lequel on importe ; une autre référence "
    "est refusée.",
    exemple="CLS-2024-D05",
)
CODE = Colonne(
    "code",
    "Code",
    (
        "code fiche",
        "code de la fiche",
        "code action",
        "code de l'action",
        "n° fiche",
        "n° de fiche",
        "numéro de fiche",
        "numéro fiche",
        "n° action",
        "numéro d'action",
        "fiche",
        "fiche action",
        "n°",
    ),
    largeur=10,
    aide="Code de la fiche, unique dans le contrat (lettres sans accent et chiffres séparés par « . », « - » ou "
    "« _ », 12 caractères au plus) : c'est par lui qu'un nouvel import met à jour la fiche. Obligatoire.",
    exemple="A1-03",
)

COLONNES_FICHE: tuple[Colonne, ...] = (
    CONTRAT,
    CODE,
    Colonne(
        "intitule",
        "Intitulé",
        (
            "libellé",
            "titre",
            "intitulé de l'action",
            "libellé de l'action",
            "intitulé de la fiche",
            "nom de l'action",
            "titre de l'action",
            "action",
        ),
        largeur=45,
        aide="Intitulé de l'action. Obligatoire pour une nouvelle fiche.",
        exemple="Accompagnement global des allocataires",
    ),
    Colonne(
        "axe",
        "Axe",
        ("axe du pacte", "n° axe", "numéro d'axe", "numéro de l'axe"),
        type="reference",
        largeur=8,
        aide="Numéro de l'axe du Pacte (1 à 4) : « 1 », « Axe 1 » ou « Axe 1 – intitulé » ; un axe du contrat.",
        exemple="Axe 1",
    ),
    Colonne(
        "objectif",
        "Objectif du Pacte",
        ("objectif", "code objectif", "objectif du pacte des solidarités"),
        type="reference",
        largeur=12,
        aide="Code de l'objectif (ex. O1-1) ou son intitulé. Vide avec une mesure nationale : l'objectif de la mesure.",
        exemple="O1-1",
    ),
    Colonne(
        "mesure",
        "Mesure nationale",
        ("mesure", "code mesure", "mesure du pacte", "code de la mesure"),
        type="reference",
        largeur=12,
        aide="Code de la mesure nationale (ex. 1.2) ou son intitulé ; de l'axe de la fiche.",
        exemple="1.2",
    ),
    Colonne(
        "mesure_locale",
        "Mesure locale",
        ("intitulé de la mesure locale",),
        largeur=30,
        aide="Intitulé d'une mesure propre au territoire, à la place d'une mesure nationale.",
    ),
    Colonne(
        "volet",
        "Volet",
        ("n° volet", "numéro de volet"),
        type="reference",
        largeur=8,
        aide="Numéro du volet (1 à 3) pour une action de l'axe 2 d'un contrat à volets (CDIE, convention unique).",
    ),
    Colonne(
        "nature",
        "Nature",
        (
            "nature de l'action",
            "nouvelle ou renforcée",
            "action nouvelle ou renforcée",
            "nouvelle renforcée",
            "type d'action",
        ),
        type="choix",
        largeur=12,
        aide="« Nouvelle » ou « Renforcée » (N ou R). Obligatoire pour une nouvelle fiche.",
        exemple="Nouvelle",
    ),
    Colonne(
        "justification_renforcement",
        "Justification du renforcement",
        ("justification",),
        type="long",
        largeur=30,
        aide="Pour une action renforcée : plus de personnes, nouveaux publics, nouveaux territoires.",
    ),
    Colonne(
        "contexte",
        "Contexte et besoin",
        ("contexte", "diagnostic", "contexte et besoin diagnostic", "besoin"),
        type="long",
        largeur=30,
    ),
    Colonne(
        "objectifs",
        "Objectifs de l'action",
        ("objectifs", "objectifs opérationnels", "objectifs de la fiche"),
        type="long",
        largeur=30,
    ),
    Colonne(
        "description",
        "Description",
        ("description de l'action", "contenu", "contenu de l'action", "descriptif"),
        type="long",
        largeur=40,
    ),
    Colonne(
        "public_cible",
        "Public cible",
        ("public", "publics", "publics cibles", "public visé", "publics visés", "bénéficiaires"),
        type="long",
        largeur=25,
    ),
    Colonne(
        "volume_public",
        "Volume de public",
        (
            "volume",
            "volume de public attendu",
            "nombre de personnes",
            "nb de personnes",
            "nombre de bénéficiaires",
            "nb bénéficiaires",
        ),
        type="entier",
        largeur=10,
        aide="Nombre de personnes attendues (un entier).",
        exemple="250",
    ),
    Colonne(
        "territoire_departement_entier",
        "Tout le territoire",
        ("territoire entier", "tout le territoire de la collectivité", "tout le département"),
        type="booleen",
        largeur=10,
        aide="« oui » si l'action couvre tout le territoire de la collectivité, « non » sinon (vide : oui).",
        exemple="oui",
    ),
    Colonne(
        "territoire_detail",
        "Communes ou EPCI",
        ("territoire", "communes", "territoire couvert", "communes ou epci couverts", "epci"),
        type="long",
        largeur=25,
    ),
    Colonne(
        "porteur",
        "Porteur",
        ("porteur de l'action", "structure porteuse", "opérateur", "porteur du projet", "organisme porteur"),
        type="reference",
        largeur=30,
        aide="Nom de l'organisation qui porte l'action (une collectivité ou un partenaire du territoire, tel qu'il est "
        "enregistré ; « Département » ou « Collectivité » : la collectivité signataire). Obligatoire pour une "
        "nouvelle fiche.",
        exemple="CAF des Hautes-Alpes",
    ),
    Colonne("partenaires", "Partenaires", ("partenaires associés", "partenariat"), type="long", largeur=25),
    Colonne(
        "date_debut",
        "Début",
        ("date de début", "date début", "début de l'action", "date de démarrage"),
        type="date",
        largeur=11,
        aide="Date de début (jj/mm/aaaa, ou une date Excel), dans la période du contrat. Obligatoire pour une "
        "nouvelle fiche.",
        exemple="01/01/2024",
    ),
    Colonne(
        "date_fin",
        "Fin",
        ("date de fin", "date fin", "fin de l'action", "échéance"),
        type="date",
        largeur=11,
        aide="Date de fin, dans la période du contrat. Obligatoire pour une nouvelle fiche.",
        exemple="31/12/2027",
    ),
    Colonne("jalons", "Jalons", ("calendrier", "étapes", "calendrier de mise en œuvre"), type="long", largeur=25),
    Colonne(
        "etp",
        "ETP",
        ("etp mobilisés", "équivalents temps plein", "etp dédiés"),
        type="decimal",
        largeur=8,
        aide="Équivalents temps plein (ex. 1,5).",
        exemple="1,5",
    ),
    Colonne(
        "statut",
        "Statut",
        ("statut de la fiche",),
        largeur=12,
        aide="Exporté pour information ; l'import ne change pas le statut (validation, démarrage… sur la page de "
        "la fiche).",
        lecture_seule=True,
    ),
)

INDICATEUR = Colonne(
    "nom",
    "Indicateur",
    ("nom de l'indicateur", "intitulé de l'indicateur", "libellé de l'indicateur", "indicateurs", "nom"),
    largeur=35,
    aide="Nom de l'indicateur, unique dans sa fiche : c'est par lui qu'un nouvel import le met à jour.",
    exemple="Personnes accompagnées",
)

COLONNES_INDICATEUR: tuple[Colonne, ...] = (
    CONTRAT,
    CODE,
    INDICATEUR,
    Colonne(
        "type_indicateur",
        "Type",
        ("type d'indicateur", "type de l'indicateur", "nature de l'indicateur"),
        type="choix",
        largeur=12,
        aide="« Réalisation » ou « Résultat ». Obligatoire pour un nouvel indicateur.",
        exemple="Réalisation",
    ),
    Colonne(
        "unite",
        "Unité",
        ("unité de mesure",),
        largeur=12,
        aide="Ex. personnes, ménages, %. Obligatoire pour un nouvel indicateur.",
        exemple="personnes",
    ),
    Colonne(
        "valeur_reference",
        "Valeur de référence",
        ("référence", "valeur initiale", "situation de départ", "valeur de départ"),
        type="decimal",
        largeur=12,
    ),
    Colonne("source", "Source", ("source des données", "outil de suivi"), largeur=20),
    Colonne(
        "annee",
        "Année",
        ("exercice", "an", "année de la cible"),
        type="entier",
        largeur=8,
        aide="L'année de la cible et de la valeur atteinte (une ligne par année) ; vide : l'indicateur seul.",
        exemple="2024",
    ),
    Colonne(
        "cible",
        "Cible",
        ("valeur cible", "objectif chiffré", "cible visée"),
        type="decimal",
        largeur=10,
        aide="La cible de l'année (contractuelle : avant signature).",
        exemple="100",
    ),
    Colonne(
        "realise",
        "Valeur atteinte",
        ("réalisé", "atteint", "valeur réalisée", "réalisation", "résultat atteint"),
        type="decimal",
        largeur=10,
        aide="La valeur atteinte de l'année (exécution : après signature aussi, pour une année commencée).",
        exemple="80",
    ),
)

"""``manage.py captures``: screenshots of the front office's main pages, at 1280 px and 390 px wide.

For looking at the pages, not a test: run it on the demo (``make run`` seeds it), open the PNGs in
``var/captures/`` (ignored by git). Each persona's pages are taken with that persona's demo account, logged in
through the login page like an agent:

    manage.py captures                        # serves the current database itself, on a free port
    manage.py captures --url http://127.0.0.1:8000 --largeurs 390 --seulement accueil-ddets,contrat-signe

The pages are picked in the database, in each account's perimeter: a contract in preparation, a signed one with a
fiche and an avenant, a contract ready for signature if there is one (else the signing page of the contract in
preparation), an execution page of the collectivité. Needs Playwright and Debian's Chromium (the test tools: ``uv
sync`` installs them with the dev group).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from actions.models import FicheAction
from contrats.enums import StatutContrat
from contrats.models import Avenant, Contrat
from financement.enums import StatutRapport
from financement.models import RapportAnnuel
from pacte.models import User

LARGEURS = (1280, 390)
HAUTEUR = 900
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Persona → the demo account (demo/builder/territoires.py) whose pages are taken.
COMPTES_DEMO = {
    "ddets": "ddets05",
    "lecteur": "ddets05-lecteur",
    "collectivite": "cd05",
    "prefecture": "prefecture05",
    "region": "dreets-paca",
    "nation": "dgcs",
    "partenaire": "partenaire-caf05",
}


@dataclass(frozen=True)
class Capture:
    slug: str  # the file's name: <numéro>-<slug>-<largeur>.png
    titre: str
    url: str
    compte: str | None  # None: anonymous


def _contrat(user, *statuts) -> Contrat | None:
    return Contrat.objects.for_user(user).filter(statut__in=statuts).order_by("reference").first()


def plan_de_captures(comptes: dict[str, str]) -> list[Capture]:
    """The pages to take, found in the database through each account's perimeter (``comptes``: persona →
    username; a persona left out has no page). Reads the database: call it before starting Playwright."""
    users = {u.username: u for u in User.objects.filter(username__in=comptes.values())}
    absents = sorted(set(comptes.values()) - set(users))
    if absents:
        raise CommandError(f"Comptes absents de la base : {', '.join(absents)} (lancez seed_demo).")
    plan = [
        Capture("connexion", "Connexion", reverse("login"), None),
        Capture("verification", "Vérification d'un document", reverse("espace:verification"), None),
    ]
    for persona, username in comptes.items():
        plan.append(Capture(f"accueil-{persona}", f"Accueil ({persona})", reverse("espace:accueil"), username))

    def page(slug: str, titre: str, nom: str, *args, compte: str) -> None:
        plan.append(Capture(slug, titre, reverse(f"espace:{nom}", args=args), compte))

    ddets = users.get(comptes.get("ddets"))
    if ddets is not None:
        qui = ddets.username
        page("contrats", "Liste des contrats", "contrats", compte=qui)
        page("fiches", "Liste des fiches actions", "fiches", compte=qui)
        page("tableau-ddets", "Tableau de bord (DDETS)", "tableau", compte=qui)
        en_preparation = _contrat(ddets, StatutContrat.EN_NEGOCIATION, StatutContrat.BROUILLON)
        if en_preparation is not None:
            ref = en_preparation.reference
            page("contrat-en-preparation", f"Contrat {ref}", "contrat", ref, compte=qui)
            page("fiche-nouvelle", "Nouvelle fiche action", "fiche_creer", ref, compte=qui)
            page("confirmation", "Confirmation : prêt pour signature", "contrat_statut", ref, "pret", compte=qui)
            page("import", f"Import Excel dans {ref}", "import", ref, compte=qui)
            page("historique-contrat", f"Historique de {ref}", "contrat_historique", ref, compte=qui)
            fiche = FicheAction.objects.for_user(ddets).filter(contrat=en_preparation).order_by("code").first()
            if fiche is not None:
                page("fiche-modifier", f"Modifier la fiche {fiche.code}", "fiche_modifier", ref, fiche.code, compte=qui)
        signes = Contrat.objects.for_user(ddets).filter(statut__in=[StatutContrat.SIGNE, StatutContrat.EN_EXECUTION])
        # One with fiches (its fiche and execution pages), else any.
        signe = (
            signes.filter(fiches__isnull=False).distinct().order_by("reference").first()
            or signes.order_by("reference").first()
        )
        if signe is not None:
            ref = signe.reference
            page("contrat-signe", f"Contrat {ref}", "contrat", ref, compte=qui)
            fiche = FicheAction.objects.for_user(ddets).filter(contrat=signe).order_by("code").first()
            if fiche is not None:
                page("fiche", f"Fiche {fiche.code}", "fiche", ref, fiche.code, compte=qui)
                if comptes.get("collectivite"):
                    titre = f"Exécution de la fiche {fiche.code}"
                    page("execution", titre, "fiche_execution", ref, fiche.code, compte=comptes["collectivite"])
            page("argent", f"Argent de {ref}", "argent", ref, compte=qui)
            page("documents", f"Documents de {ref}", "documents", ref, compte=qui)
        avenants = Avenant.objects.for_user(ddets).select_related("contrat")
        avenant = avenants.order_by("contrat__reference", "numero").first()
        if avenant is not None:
            ref = avenant.contrat.reference
            page("avenant", f"Avenant n° {avenant.numero} au contrat {ref}", "avenant", ref, avenant.numero, compte=qui)

    for persona in ("region", "nation"):
        if comptes.get(persona):
            page(f"tableau-{persona}", f"Tableau de bord ({persona})", "tableau", compte=comptes[persona])

    collectivite = users.get(comptes.get("collectivite"))
    if collectivite is not None:
        qui = collectivite.username
        page("rapports", "Rapports annuels", "rapports", compte=qui)
        rapports = RapportAnnuel.objects.for_user(collectivite).select_related("contrat")
        # One in redaction (its form is open), else the latest.
        rapport = (
            rapports.filter(statut=StatutRapport.BROUILLON).order_by("-annee", "contrat__reference").first()
            or rapports.order_by("-annee", "contrat__reference").first()
        )
        if rapport is not None:
            ref, annee = rapport.contrat.reference, rapport.annee
            page("rapport", f"Rapport {annee} de {ref}", "rapport", ref, annee, compte=qui)
            page("rapport-modifier", f"Rédiger le rapport {annee} de {ref}", "rapport_modifier", ref, annee, compte=qui)

    prefecture = users.get(comptes.get("prefecture"))
    if prefecture is not None:
        # A contract ready for signature; else the signing page of one in preparation (its shape is the same).
        a_signer = _contrat(prefecture, StatutContrat.PRET_SIGNATURE) or _contrat(
            prefecture, StatutContrat.EN_NEGOCIATION, StatutContrat.BROUILLON
        )
        if a_signer is not None:
            ref = a_signer.reference
            titre = f"Signature du contrat {ref}"
            page("signature", titre, "contrat_statut", ref, "signer", compte=prefecture.username)
    return plan


def capturer(browser, base_url: str, plan: list[Capture], sortie: Path, largeurs, mot_de_passe: str) -> list[Path]:
    """Takes every page of ``plan`` at each width (full page), logged in with each account in turn; returns the
    files written. ``browser``: a Playwright browser (sync API)."""
    from playwright.sync_api import expect

    sortie.mkdir(parents=True, exist_ok=True)
    fichiers = []
    comptes = list(dict.fromkeys(c.compte for c in plan))
    numeros = {c: n for n, c in enumerate(plan, start=1)}
    for compte in comptes:
        # Logged in at a desktop width: under 992 px the header's tools are in the folded menu.
        contexte = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": HAUTEUR})
        page = contexte.new_page()
        if compte is not None:
            page.goto(f"{base_url}{reverse('login')}")
            page.get_by_label("Nom d’utilisateur").fill(compte)
            page.get_by_label("Mot de passe", exact=True).fill(mot_de_passe)
            page.get_by_role("button", name="Se connecter").click()
            expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
        for capture in (c for c in plan if c.compte == compte):
            for largeur in largeurs:
                page.set_viewport_size({"width": largeur, "height": HAUTEUR})
                page.goto(f"{base_url}{capture.url}")
                page.evaluate("() => document.fonts.ready")
                fichier = sortie / f"{numeros[capture]:02d}-{capture.slug}-{largeur}.png"
                page.screenshot(path=str(fichier), full_page=True)
                fichiers.append(fichier)
        contexte.close()
    return fichiers


class Command(BaseCommand):
    help = "Captures d'écran des pages principales de l'espace des agents (1280 et 390 px) dans var/captures/."

    def add_arguments(self, parser):
        parser.add_argument("--url", help="Adresse d'un serveur déjà lancé ; sans elle, la commande sert la base.")
        parser.add_argument("--sortie", default=str(settings.BASE_DIR / "var" / "captures"), help="Dossier des PNG.")
        parser.add_argument("--largeurs", default=",".join(map(str, LARGEURS)), help="Largeurs en pixels (1280,390).")
        parser.add_argument("--seulement", default="", help="Ces pages seulement (slugs séparés par des virgules).")
        parser.add_argument(
            "--mot-de-passe",
            default=None,
            help="Mot de passe des comptes (défaut : DEMO_PASSWORD ou celui de la démo).",
        )

    def handle(self, *args, **options):
        from demo.builder.territoires import demo_password

        try:
            largeurs = [int(x) for x in options["largeurs"].split(",") if x.strip()]
        except ValueError:
            raise CommandError("--largeurs : des nombres de pixels séparés par des virgules (1280,390).") from None
        if not largeurs:
            raise CommandError("--largeurs : au moins une largeur.")
        plan = plan_de_captures(COMPTES_DEMO)
        seulement = {s.strip() for s in options["seulement"].split(",") if s.strip()}
        if seulement:
            inconnues = seulement - {c.slug for c in plan}
            if inconnues:
                raise CommandError(
                    f"Pages inconnues : {', '.join(sorted(inconnues))}. Pages : {', '.join(c.slug for c in plan)}."
                )
            plan = [c for c in plan if c.slug in seulement]
        mot_de_passe = options["mot_de_passe"] or demo_password()
        sortie = Path(options["sortie"])

        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise CommandError("Playwright est nécessaire : uv sync (groupe dev).") from None
        if not os.path.exists(CHROMIUM):
            raise CommandError("Chromium est introuvable : installez le paquet Debian « chromium ».")

        serveur = None
        base_url = (options["url"] or "").rstrip("/")
        if not base_url:
            serveur = _serveur()
            base_url = f"http://{serveur.host}:{serveur.port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                try:
                    fichiers = capturer(browser, base_url, plan, sortie, largeurs, mot_de_passe)
                finally:
                    browser.close()
        finally:
            if serveur is not None:
                serveur.terminate()
        for fichier in fichiers:
            self.stdout.write(str(fichier))
        self.stdout.write(self.style.SUCCESS(f"{len(fichiers)} captures dans {sortie}"))


def _serveur():
    """Django's live-server thread on the current database, with the static files, on a free port."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    serveur = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    serveur.daemon = True
    serveur.start()
    serveur.is_ready.wait()
    if serveur.error:
        raise CommandError(f"Le serveur n'a pas démarré : {serveur.error}")
    return serveur

"""``manage.py ouvrir_rapports [--annee N] [--date AAAA-MM-JJ]``: opens the annual execution reports of the past year.

Run every day (cron, README « Exploitation »). For each signed or running contract that covers the year, the report
of the year is opened if it is missing, pre-filled with a section per action (``financement.services.rapports_ouvrir``);
reports of that year still in redaction get a section for any action added since. Run twice, it does nothing more.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from financement.management.commands._dates import ajouter_option_date, jour_de
from financement.services import rapports_ouvrir
from pacte.validators import pacte_years


class Command(BaseCommand):
    help = (
        "Ouvre les rapports annuels d'exécution de l'année écoulée (à lancer chaque jour ; sans effet s'ils existent)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--annee", type=int, help="Exercice des rapports à ouvrir (par défaut : l'année écoulée).")
        ajouter_option_date(parser)

    def handle(self, *args, annee=None, jour=None, **options):
        jour = jour_de(jour)
        annee = jour.year - 1 if annee is None else annee
        if annee >= jour.year:
            raise CommandError(
                f"L'exercice {annee} n'est pas écoulé : son rapport s'ouvre à partir du 1er janvier {annee + 1}."
            )
        if annee not in pacte_years():
            self.stdout.write(f"{annee} est hors de la période du Pacte : aucun rapport à ouvrir.")
            return
        resultats = rapports_ouvrir(annee=annee)
        ouverts = sections = 0
        for r in resultats:
            if r.refus:
                self.stderr.write(f"{r.contrat.reference} : rapport {annee} non ouvert : {' '.join(r.refus)}")
            elif r.ouvert:
                ouverts += 1
                sections += r.sections
                self.stdout.write(f"{r.contrat.reference} : rapport {annee} ouvert, {r.sections} section(s).")
            elif r.sections:
                sections += r.sections
                self.stdout.write(f"{r.contrat.reference} : rapport {annee}, {r.sections} section(s) ajoutée(s).")
        self.stdout.write(
            f"Exercice {annee} : {ouverts} rapport(s) ouvert(s), {sections} section(s) créée(s), "
            f"{len(resultats)} contrat(s) examiné(s)."
        )

"""The background work of financement (django-tasks): documents that cost seconds of CPU.

Each task receives the uid of the row that describes its work and reports on it (status, progress, error), so a page
can follow it; the work itself is a service (financement/services.py). Tasks are enqueued after the commit of the
write that asks for them (``transaction.on_commit``) and run by ``manage.py db_worker`` (``make run`` starts one);
the tests run them immediately.
"""

from __future__ import annotations

from django_tasks import task


# A document someone waits for goes before a batch print (the database backend takes the highest priority first).
@task(priority=10)
def produire_document(uid: str) -> str:
    """Renders, seals and stores one document of the registry (a signed document frozen, or a draft); returns its
    SHA-256."""
    from financement.services import document_produire

    return document_produire(uid=uid).empreinte


@task(priority=-10)
def imprimer_lot(uid: str) -> int:
    """Builds the zip of a batch print, counting the conventions as they are added; returns their number."""
    from financement.services import impression_produire

    return impression_produire(uid=uid).fait


@task(priority=0)
def traiter_import(uid: str, etape: str) -> str:
    """Previews (``etape="analyse"``) or imports (``"import"``) a large uploaded action table, writing its progress in
    its state file; returns the import's state (``financement.importation``)."""
    from financement.importation import traiter

    return traiter(uid, etape)

from django.apps import AppConfig


class EspaceConfig(AppConfig):
    """The front office: the pages agents work in every day (contracts, fiches, avenants, homes).

    Its pages show contracts, fiches and money together, so by the house's rule ("a page lives in the
    highest app it needs") they would all land in ``financement``. They live here instead, in an app on
    top of the others that uses every app and is used by none (like ``demo``): the domain apps keep
    their models, services, selectors, forms and filters; this app only composes pages from them.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "espace"
    verbose_name = "Espace des agents"

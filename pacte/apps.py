from django.apps import AppConfig


class PacteConfig(AppConfig):
    name = "pacte"
    verbose_name = "Référentiels et utilisateurs"

    def ready(self) -> None:
        import pacte.auth  # noqa: F401  (connects the login, failure and logout log receivers)

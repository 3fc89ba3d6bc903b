from django.apps import AppConfig


class ContratsConfig(AppConfig):
    name = "contrats"
    verbose_name = "Contrats"

    def ready(self) -> None:
        from contrats import appliers  # noqa: F401  (registers how an avenant changes the contract's content)

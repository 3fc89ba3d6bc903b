from django.apps import AppConfig


class FinancementConfig(AppConfig):
    name = "financement"
    verbose_name = "Financement"

    def ready(self) -> None:
        from financement import checks  # noqa: F401  (registers the signature checks and avenant appliers)

from django.apps import AppConfig


class ActionsConfig(AppConfig):
    name = "actions"
    verbose_name = "Fiches actions"

    def ready(self) -> None:
        from actions import checks  # noqa: F401  (registers the signature checks and avenant appliers)

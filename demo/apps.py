from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data and benchmarks (``seed_demo``, ``demo_logins``, ``bench_seed``, ``bench_pages``).

    Uses every app and is used by none; it has no models.
    """

    name = "demo"
    verbose_name = "Démonstration"

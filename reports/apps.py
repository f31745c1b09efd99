from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Мониторинг"

    def ready(self):
        from reports import signals  # noqa: F401

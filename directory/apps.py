from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _unicode_upper_for_sqlite(sender, connection, **kwargs):
    """SQLite's UPPER folds ASCII only; the FIO search column (Person.fio_search) needs
    Cyrillic folded the way PostgreSQL does it."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "UPPER",
            1,
            lambda value: value.upper() if isinstance(value, str) else value,
            deterministic=True,
        )


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = "Справочники ОО"

    def ready(self):
        connection_created.connect(_unicode_upper_for_sqlite)

"""A trigram index for «search by any part of the FIO» (F15) on PostgreSQL.

Kept out of Meta.indexes because SQLite, the embedded default, has neither pg_trgm nor GIN;
there the picker's search scans one college's people, which stays fast at college scale.
"""

from django.db import migrations

INDEX = "directory_person_fio_search_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON directory_person "
        "USING gin (fio_search gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("directory", "0002_person_fio_search")]

    operations = [migrations.RunPython(create, drop, elidable=False)]

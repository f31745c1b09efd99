"""An index in the participant picker's order (F15): by FIO, then id.

Without a search the picker lists a college's people by FIO, 15 a page. People have no
college of their own (a role in each), so the region's directory is one table: with this
index PostgreSQL walks it in order and stops at the page's last row, instead of reading and
sorting the whole region for every page. PostgreSQL only, as the trigram index of 0003:
SQLite, the embedded default, holds one college.
"""

from django.db import migrations

INDEX = "directory_person_fio_order"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON directory_person "
        "(last_name, first_name, middle_name, id)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("directory", "0005_organization_revision")]

    operations = [migrations.RunPython(create, drop, elidable=False)]

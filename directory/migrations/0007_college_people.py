"""The people of each college as the participant picker lists and searches them
(CollegePerson), the triggers that keep them (directory/college_people.py) and their first
fill; on PostgreSQL, their trigram index.

The person's own FIO indexes of 0003 and 0006 served the picker only, which now reads the
college's people: they go, and no longer cost the import a write per person.
"""

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

from directory import college_people

TRIGRAM = "directory_collegeperson_fio_search_trgm"
PERSON_INDEXES = {
    "directory_person_fio_search_trgm": "USING gin (fio_search gin_trgm_ops)",
    "directory_person_fio_order": "(last_name, first_name, middle_name, id)",
}


def search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite, the embedded default, holds one college: a scan of it is quick
    # Without the fast-update list: entries queued there are read by every search until a
    # vacuum merges them, and the nightly import queues thousands (a search of a college
    # took 2.8 ms in the index instead of 0.4 ms). The picker reads far more than it writes.
    schema_editor.execute(
        f"CREATE INDEX {TRIGRAM} ON {college_people.TABLE} "
        "USING gin (fio_search gin_trgm_ops) WITH (fastupdate = off)"
    )
    for index in PERSON_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


def person_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM}")
    for index, definition in PERSON_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index} ON directory_person {definition}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0006_person_fio_order_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="CollegePerson",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("last_name", models.CharField(max_length=150, verbose_name="фамилия")),
                ("first_name", models.CharField(max_length=150, verbose_name="имя")),
                (
                    "middle_name",
                    models.CharField(blank=True, max_length=150, verbose_name="отчество"),
                ),
                (
                    "fio_search",
                    models.GeneratedField(
                        db_persist=True,
                        expression=django.db.models.functions.text.Upper(
                            django.db.models.functions.text.Concat(
                                "last_name",
                                models.Value(" "),
                                "first_name",
                                models.Value(" "),
                                "middle_name",
                            )
                        ),
                        output_field=models.CharField(max_length=452),
                        verbose_name="ФИО для поиска",
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="directory.organization",
                        verbose_name="организация",
                    ),
                ),
                (
                    "person",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="человек",
                    ),
                ),
            ],
            options={
                "verbose_name": "человек колледжа",
                "verbose_name_plural": "люди колледжей",
                "indexes": [
                    models.Index(
                        fields=["organization", "last_name", "first_name", "middle_name", "person"],
                        include=("fio_search",),
                        name="collegeperson_fio_order",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "person"), name="collegeperson_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(college_people.install, college_people.uninstall, elidable=False),
        migrations.RunPython(search_indexes, person_indexes, elidable=False),
    ]

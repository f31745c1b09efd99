"""The roster revision of a college, its change log, and the triggers that keep both
(directory/revision.py)."""

import django.db.models.deletion
from django.db import migrations, models

from directory import revision


class Migration(migrations.Migration):
    dependencies = [("directory", "0003_person_fio_trigram_index")]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="revision",
            field=models.BigIntegerField(
                default=0, editable=False, verbose_name="ревизия справочника"
            ),
        ),
        migrations.CreateModel(
            name="RosterChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "person_id",
                    models.BigIntegerField(blank=True, null=True, verbose_name="человек"),
                ),
                (
                    "reaches_chats",
                    models.BooleanField(default=False, verbose_name="меняет набор чатов"),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="directory.organization",
                        verbose_name="организация",
                    ),
                ),
            ],
            options={
                "verbose_name": "изменение состава",
                "verbose_name_plural": "изменения состава",
            },
        ),
        migrations.RunPython(revision.install, revision.uninstall, elidable=False),
    ]

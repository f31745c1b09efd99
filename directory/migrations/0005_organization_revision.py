"""The roster revision of a college and the triggers that raise it (directory/revision.py)."""

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
        migrations.RunPython(revision.install, revision.uninstall, elidable=False),
    ]

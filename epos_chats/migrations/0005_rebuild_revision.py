"""The directory revision a rebuild matched; indexes that other indexes already cover go, and
chat pages keep room for the rebuild's touch of changed_at to stay a HOT update (PostgreSQL)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

FILLFACTOR = 90


def leave_room(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE epos_chats_chat SET (fillfactor = {FILLFACTOR})")


def fill_up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE epos_chats_chat RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ('directory', '0006_person_fio_order_index'),
        ('epos_chats', '0004_epos_messages'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='rebuildrun',
            name='revision',
            field=models.BigIntegerField(blank=True, null=True, verbose_name='ревизия справочника'),
        ),
        migrations.AlterField(
            model_name='chat',
            name='changed_at',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='изменён'),
        ),
        migrations.AlterField(
            model_name='chatmember',
            name='chat',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='members', to='epos_chats.chat', verbose_name='чат'),
        ),
        migrations.AlterField(
            model_name='chatmember',
            name='person',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='chat_memberships', to=settings.AUTH_USER_MODEL, verbose_name='участник'),
        ),
        migrations.RunPython(leave_room, fill_up, elidable=False),
    ]

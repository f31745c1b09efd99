"""Chats of a college and who is in them.

A chat is never deleted from the database: `deleted_at` hides it from the journal while the
push removes its members in the messenger (where the chat itself stays, F18).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from directory.models import Group, Organization, Person, Teaching


class ChatQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def mandatory(self):
        return self.filter(kind__in=Chat.MANDATORY_KINDS)


class Chat(models.Model):
    class Kind(models.TextChoices):
        TEACHERS = "teachers", "Преподаватели"
        GROUP = "group", "Группа"
        PARENTS = "parents", "Родители"
        CUSTOM = "custom", "Произвольный чат"
        DISCIPLINE = "discipline", "Дисциплина"

    class Platform(models.TextChoices):
        VK = "vk", "VK Мессенджер"
        EPOS = "epos", "ЭПОС"

    # F11: created and kept by the nightly rebuild, never edited or deleted by people (F12).
    MANDATORY_KINDS = (Kind.TEACHERS, Kind.GROUP, Kind.PARENTS)
    GROUP_KINDS = (Kind.GROUP, Kind.PARENTS)

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, verbose_name="организация", related_name="chats"
    )
    kind = models.CharField("тип", max_length=16, choices=Kind.choices)
    platform = models.CharField(
        "платформа", max_length=8, choices=Platform.choices, default=Platform.VK
    )
    title = models.CharField("название", max_length=255)
    group = models.ForeignKey(
        Group,
        on_delete=models.PROTECT,
        verbose_name="группа",
        related_name="chats",
        null=True,
        blank=True,
    )
    teaching = models.ForeignKey(
        Teaching,
        on_delete=models.PROTECT,
        verbose_name="группа по дисциплине",
        related_name="chats",
        null=True,
        blank=True,
    )
    created_by = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        verbose_name="создал",
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField("создан", default=timezone.now)
    # Moves whenever the chat's messenger state (title, members, rights, deletion) changes:
    # the push compares it with what the messenger was last told. Not indexed: nothing looks
    # chats up by it (lists sort a college's few), and without an index the nightly touch of
    # a chat is a HOT update that writes no index at all (0005 leaves pages room for them).
    changed_at = models.DateTimeField("изменён", default=timezone.now)
    deleted_at = models.DateTimeField("удалён", null=True, blank=True)
    # The creation form's one-time key: a double-clicked «Создать чат» makes one chat, not two.
    request_key = models.UUIDField("ключ запроса создания", null=True, blank=True, unique=True)

    objects = ChatQuerySet.as_manager()

    class Meta:
        verbose_name = "чат"
        verbose_name_plural = "чаты"
        ordering = ["title", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(kind="teachers"),
                name="chat_one_teachers_chat_per_organization",
            ),
            models.UniqueConstraint(
                fields=["group", "kind"],
                condition=Q(kind__in=["group", "parents"]),
                name="chat_one_mandatory_chat_of_each_kind_per_group",
            ),
            models.UniqueConstraint(
                fields=["teaching"],
                condition=Q(kind="discipline", deleted_at__isnull=True),
                name="chat_one_live_discipline_chat_per_teaching",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["group", "parents"]) | Q(group__isnull=False),
                name="chat_group_chats_have_a_group",
            ),
            models.CheckConstraint(
                condition=~Q(kind="discipline") | Q(teaching__isnull=False),
                name="chat_discipline_chats_have_a_teaching",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["teachers", "group", "parents"]) | Q(platform="vk"),
                name="chat_mandatory_chats_live_in_the_messenger",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "platform", "kind"], name="chat_org_kind_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_mandatory(self) -> bool:
        return self.kind in self.MANDATORY_KINDS

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ChatMember(models.Model):
    # No single-column indexes: (chat, person) and (person, chat) below serve both lookups,
    # and every index is one more write for each of the region's 270 000 memberships.
    chat = models.ForeignKey(
        Chat, on_delete=models.CASCADE, verbose_name="чат", related_name="members", db_index=False
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        verbose_name="участник",
        related_name="chat_memberships",
        db_index=False,
    )
    is_admin = models.BooleanField("администратор чата", default=False)
    added_at = models.DateTimeField("добавлен", default=timezone.now)

    class Meta:
        verbose_name = "участник чата"
        verbose_name_plural = "участники чатов"
        ordering = ["-is_admin", "person__last_name", "person__first_name"]
        constraints = [
            models.UniqueConstraint(fields=["chat", "person"], name="chatmember_unique_membership"),
        ]
        indexes = [models.Index(fields=["person", "chat"], name="chatmember_person_idx")]

    def __str__(self) -> str:
        return f"{self.person} в «{self.chat}»"


class ChatDraft(models.Model):
    """The participant picker's selection while a person builds or edits a chat (F15, F17).

    Kept in the database, not in the form: «Выбрать всех» may pick thousands of people across
    pages, and the selection must survive paging, tabs and filters.
    """

    owner = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    chat = models.ForeignKey(
        Chat, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "черновик состава чата"
        verbose_name_plural = "черновики состава чатов"

    def __str__(self) -> str:
        return f"черновик {self.pk} ({self.owner_id})"


class ChatDraftMember(models.Model):
    draft = models.ForeignKey(ChatDraft, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    is_admin = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["draft", "person"], name="chatdraftmember_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} в черновике {self.draft_id}"


class RebuildRun(models.Model):
    """One nightly rebuild of a college's mandatory chats (F13), or why it stopped (B2)."""

    class Status(models.TextChoices):
        APPLIED = "applied", "применено"
        UNCHANGED = "unchanged", "без изменений"
        STOPPED = "stopped", "остановлено"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, verbose_name="организация", related_name="+"
    )
    started_at = models.DateTimeField("начало", default=timezone.now)
    finished_at = models.DateTimeField("окончание", null=True, blank=True)
    status = models.CharField("итог", max_length=16, choices=Status.choices)
    chats_created = models.PositiveIntegerField("чатов создано", default=0)
    chats_restored = models.PositiveIntegerField("чатов восстановлено", default=0)
    chats_renamed = models.PositiveIntegerField("чатов переименовано", default=0)
    chats_deleted = models.PositiveIntegerField("чатов удалено", default=0)
    members_added = models.PositiveIntegerField("участников добавлено", default=0)
    members_removed = models.PositiveIntegerField("участников удалено", default=0)
    admins_changed = models.PositiveIntegerField("прав изменено", default=0)
    message = models.TextField("пояснение", blank=True)
    # The college's directory revision the chats match after this run (not after a stop).
    revision = models.BigIntegerField("ревизия справочника", null=True, blank=True)

    class Meta:
        verbose_name = "пересборка обязательных чатов"
        verbose_name_plural = "пересборки обязательных чатов"
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.organization} {self.started_at:%d.%m.%Y %H:%M} — {self.get_status_display()}"


class AuditEvent(models.Model):
    """B4: who did what to which chat, call or link, and what it was before and after."""

    class Action(models.TextChoices):
        CHAT_CREATED = "chat_created", "создал чат"
        CHAT_RENAMED = "chat_renamed", "переименовал чат"
        CHAT_MEMBERS_CHANGED = "chat_members_changed", "изменил состав чата"
        CHAT_ADMIN_CHANGED = "chat_admin_changed", "изменил администраторов чата"
        CHAT_DELETED = "chat_deleted", "удалил чат"
        CALL_CREATED = "call_created", "создал онлайн-звонок"
        CALL_UPDATED = "call_updated", "изменил онлайн-звонок"
        CALL_PUBLISHED = "call_published", "опубликовал онлайн-звонок"
        CALL_FINISHED = "call_finished", "завершил онлайн-звонок"
        CALL_DELETED = "call_deleted", "удалил онлайн-звонок"
        VK_LINKED = "vk_linked", "привязал учебный профиль VK ID"
        VK_UNLINKED = "vk_unlinked", "отвязал учебный профиль VK ID"

    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        verbose_name="организация",
        related_name="+",
        null=True,
        blank=True,
    )
    # Empty for the nightly jobs and support commands: the system acted.
    actor = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        verbose_name="кто",
        related_name="+",
        null=True,
        blank=True,
    )
    action = models.CharField("действие", max_length=32, choices=Action.choices)
    object_type = models.CharField("объект", max_length=32)
    object_id = models.BigIntegerField("id объекта")
    object_repr = models.CharField("название объекта", max_length=300)
    before = models.JSONField("было", default=dict, blank=True)
    after = models.JSONField("стало", default=dict, blank=True)
    at = models.DateTimeField("когда", default=timezone.now)

    class Meta:
        verbose_name = "событие журнала действий"
        verbose_name_plural = "журнал действий"
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "-at"], name="audit_org_at_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        who = self.actor.short_name if self.actor_id else "система"
        return f"{who} {self.get_action_display()} «{self.object_repr}»"


# --- ЭПОС conversations (F30) -----------------------------------------------------------------
# A conversation is a Chat of the ЭПОС platform; these models add what the messenger keeps for
# VK chats: the messages, who has read up to where, and the pair key of a one-to-one
# conversation. They sit beside Chat rather than in it, so the VK side never sees them.

MESSAGE_MAX_LENGTH = 4000


class DirectConversation(models.Model):
    """The pair key of a one-to-one ЭПОС conversation: one per pair of people in a college.

    The lower person id comes first, so (A, B) and (B, A) are the same row and the unique
    constraint, not a check in Python, keeps a second conversation from appearing.
    """

    chat = models.OneToOneField(
        Chat,
        on_delete=models.CASCADE,
        primary_key=True,
        verbose_name="чат",
        related_name="direct",
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, verbose_name="организация", related_name="+"
    )
    person_low = models.ForeignKey(
        Person, on_delete=models.PROTECT, verbose_name="участник 1", related_name="+"
    )
    person_high = models.ForeignKey(
        Person, on_delete=models.PROTECT, verbose_name="участник 2", related_name="+"
    )

    class Meta:
        verbose_name = "личная переписка"
        verbose_name_plural = "личные переписки"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "person_low", "person_high"],
                name="directconversation_one_per_pair",
            ),
            models.CheckConstraint(
                condition=Q(person_low__lt=models.F("person_high")),
                name="directconversation_ordered_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_low_id} ↔ {self.person_high_id}"


class Message(models.Model):
    """One message of an ЭПОС conversation: plain text, never HTML."""

    chat = models.ForeignKey(
        Chat, on_delete=models.CASCADE, verbose_name="чат", related_name="messages"
    )
    author = models.ForeignKey(
        Person, on_delete=models.PROTECT, verbose_name="автор", related_name="+"
    )
    text = models.TextField("текст")
    created_at = models.DateTimeField("отправлено", default=timezone.now)
    # The form's one-time key: a double-clicked «Отправить» stores one message, not two.
    client_token = models.UUIDField("ключ отправки", null=True, blank=True)

    class Meta:
        verbose_name = "сообщение"
        verbose_name_plural = "сообщения"
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "client_token"], name="message_one_per_client_token"
            ),
            models.CheckConstraint(
                condition=models.lookups.GreaterThan(models.functions.Length("text"), 0),
                name="message_text_not_empty",
            ),
            models.CheckConstraint(
                condition=models.lookups.LessThanOrEqual(
                    models.functions.Length("text"), MESSAGE_MAX_LENGTH
                ),
                name="message_text_at_most_4000",
            ),
        ]
        # The poll's check and «Показать более ранние» both walk a chat's messages by id.
        indexes = [models.Index(fields=["chat", "id"], name="message_chat_id_idx")]

    def __str__(self) -> str:
        return f"{self.author_id} в {self.chat_id}: {self.text[:40]}"


class ReadMark(models.Model):
    """Up to which message a person has read a conversation; unread = their later messages
    by others. A row of its own (not a field of ChatMember), so reading never touches the
    membership rows the VK push compares."""

    chat = models.ForeignKey(
        Chat, on_delete=models.CASCADE, verbose_name="чат", related_name="read_marks"
    )
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, verbose_name="читатель", related_name="+"
    )
    last_read_message_id = models.BigIntegerField("прочитано до сообщения", default=0)

    class Meta:
        verbose_name = "отметка о прочтении"
        verbose_name_plural = "отметки о прочтении"
        constraints = [
            models.UniqueConstraint(fields=["chat", "person"], name="readmark_one_per_reader"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} прочитал {self.chat_id} до {self.last_read_message_id}"

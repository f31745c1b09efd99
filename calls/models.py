"""Online calls of a chat (F19–F25) and their lifecycle «Создан» → «Опубликован» → «Завершён».

A call is never deleted from the database: `deleted_at` hides it from the journal while the
push deletes it in the messenger. Every change goes through `calls.services`, which moves
`changed_at`: the push compares it with what the messenger was last told.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from directory.models import Lesson, Organization, Person
from epos_chats.models import Chat


class OnlineCallQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def published(self):
        return self.alive().filter(status=OnlineCall.Status.PUBLISHED)


class OnlineCall(models.Model):
    class Status(models.TextChoices):
        CREATED = "created", "Создан"
        PUBLISHED = "published", "Опубликован"
        FINISHED = "finished", "Завершён"

    class Action(models.TextChoices):
        EDIT = "edit", "Редактировать"
        PUBLISH = "publish", "Опубликовать"
        FINISH = "finish", "Завершить"
        DELETE = "delete", "Удалить"

    # F22, the one map the services and the list's icons read: for each action, the statuses
    # it may start from and the status it leads to. Deletion keeps the status (the push needs
    # to know what it deletes) and sets `deleted_at`.
    TRANSITIONS: dict[str, dict[str, str]] = {
        Action.EDIT: {Status.CREATED: Status.CREATED},
        Action.PUBLISH: {Status.CREATED: Status.PUBLISHED},
        Action.FINISH: {Status.PUBLISHED: Status.FINISHED},
        Action.DELETE: {
            Status.CREATED: Status.CREATED,
            Status.PUBLISHED: Status.PUBLISHED,
            Status.FINISHED: Status.FINISHED,
        },
    }

    chat = models.ForeignKey(
        Chat, on_delete=models.CASCADE, verbose_name="чат", related_name="calls"
    )
    title = models.CharField("наименование звонка", max_length=255)
    starts_at = models.DateTimeField("начало")
    # The schedule may change under a call: the call keeps its time, the link goes.
    lesson = models.ForeignKey(
        Lesson,
        on_delete=models.SET_NULL,
        verbose_name="урок в расписании",
        related_name="online_calls",
        null=True,
        blank=True,
    )
    status = models.CharField(
        "статус", max_length=16, choices=Status.choices, default=Status.CREATED
    )
    created_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, verbose_name="создал", related_name="+"
    )
    # The seed's «ФИО пользователя, который последний совершал действия по звонку»: a person,
    # so the nightly finishing (the system) leaves it as it was; the audit log has the rest.
    last_actor = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        verbose_name="ФИО последнего действовавшего",
        related_name="+",
    )
    created_at = models.DateTimeField("создан", default=timezone.now)
    published_at = models.DateTimeField("опубликован", null=True, blank=True)
    finished_at = models.DateTimeField("завершён", null=True, blank=True)
    # Calls go to the messenger at once (F28): the push compares this with what it last sent.
    changed_at = models.DateTimeField("изменён", default=timezone.now, db_index=True)
    deleted_at = models.DateTimeField("удалён", null=True, blank=True)

    objects = OnlineCallQuerySet.as_manager()

    class Meta:
        verbose_name = "онлайн-звонок"
        verbose_name_plural = "онлайн-звонки"
        ordering = ["-starts_at", "-pk"]
        constraints = [
            # F23: at most one published call per chat, also under concurrent clicks.
            models.UniqueConstraint(
                fields=["chat"],
                condition=Q(status="published", deleted_at__isnull=True),
                name="onlinecall_one_published_call_per_chat",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["created", "published", "finished"]),
                name="onlinecall_known_status",
            ),
            # Published and finished calls have been published; finished ones have finished.
            models.CheckConstraint(
                condition=Q(status="created") | Q(published_at__isnull=False),
                name="onlinecall_published_has_published_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="finished") | Q(finished_at__isnull=False),
                name="onlinecall_finished_has_finished_at",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="onlinecall_title_not_empty"),
        ]
        indexes = [
            # The nightly finishing (F24) looks only at live published calls.
            models.Index(
                fields=["starts_at"],
                condition=Q(status="published", deleted_at__isnull=True),
                name="onlinecall_published_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def allows(self, action: str) -> bool:
        """Whether `action` may be taken on the call now (never on a deleted call)."""
        return not self.is_deleted and self.status in self.TRANSITIONS[action]

    @property
    def allowed_actions(self) -> list[str]:
        """F22: the icons of the list, in their order: edit, publish, finish, delete."""
        return [action for action in self.TRANSITIONS if self.allows(action)]


class CallsSeen(models.Model):
    """F27: when the person last opened the VK block of «Чаты» in a college. A call published
    after it puts the mark next to «Сообщения»; no row means the block was never opened."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, verbose_name="человек", related_name="+"
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        verbose_name="организация",
        related_name="+",
    )
    seen_at = models.DateTimeField("открыл блок «VK Мессенджер»", default=timezone.now)

    class Meta:
        verbose_name = "просмотр онлайн-звонков"
        verbose_name_plural = "просмотры онлайн-звонков"
        constraints = [
            models.UniqueConstraint(
                fields=["person", "organization"], name="callsseen_one_row_per_person_and_college"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.seen_at:%d.%m.%Y %H:%M}"


class CalendarToken(models.Model):
    """B6: the secret in a person's calendar subscription URL. Not the session: a phone's
    calendar fetches the feed on its own; resetting it (a new row value) cuts off the old URL."""

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, verbose_name="человек", related_name="calendar_token"
    )
    token = models.CharField("ключ", max_length=64, unique=True)
    created_at = models.DateTimeField("выдан", default=timezone.now)

    class Meta:
        verbose_name = "ключ календаря"
        verbose_name_plural = "ключи календаря"

    def __str__(self) -> str:
        return f"{self.person} · {self.created_at:%d.%m.%Y %H:%M}"

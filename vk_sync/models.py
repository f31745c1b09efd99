"""What ties the journal to VK Messenger: people's VK ID links (the remote-state tables come
with the push)."""

from django.db import models
from django.utils import timezone

from directory.models import Person


class VkLink(models.Model):
    """A person's «учебный профиль VK ID»: one VK account per person and one person per account."""

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, verbose_name="человек", related_name="vk_link"
    )
    vk_user_id = models.BigIntegerField("VK ID пользователя", unique=True)
    linked_at = models.DateTimeField("привязан", default=timezone.now)

    class Meta:
        verbose_name = "привязка VK ID"
        verbose_name_plural = "привязки VK ID"
        ordering = ["-linked_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(vk_user_id__gt=0), name="vklink_vk_user_id_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} → id{self.vk_user_id}"


class RemoteLink(models.Model):
    """A link the messenger has acknowledged (account.registerLink)."""

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, verbose_name="человек", related_name="remote_link"
    )
    vk_user_id = models.BigIntegerField("VK ID пользователя")
    synced_at = models.DateTimeField("передана", default=timezone.now)

    class Meta:
        verbose_name = "привязка в мессенджере"
        verbose_name_plural = "привязки в мессенджере"

    def __str__(self) -> str:
        return f"{self.person_id} → id{self.vk_user_id}"


class RemoteChat(models.Model):
    """What the messenger is known to hold for a journal chat: updated after every
    acknowledged operation, so a crash loses nothing — the next push finds the rest."""

    chat = models.OneToOneField(
        "epos_chats.Chat", on_delete=models.CASCADE, verbose_name="чат", related_name="remote"
    )
    remote_chat_id = models.BigIntegerField("id чата в мессенджере")
    title = models.CharField("название в мессенджере", max_length=255)
    # The chat's changed_at that the messenger fully reflects; older than changed_at = pending.
    synced_version = models.DateTimeField("отражает изменения на", null=True, blank=True)
    last_error = models.TextField("последняя ошибка", blank=True)
    error_at = models.DateTimeField("когда ошибка", null=True, blank=True)

    class Meta:
        verbose_name = "чат в мессенджере"
        verbose_name_plural = "чаты в мессенджере"

    def __str__(self) -> str:
        return f"{self.title} (id{self.remote_chat_id})"


class RemoteMember(models.Model):
    remote_chat = models.ForeignKey(
        RemoteChat, on_delete=models.CASCADE, verbose_name="чат", related_name="members"
    )
    vk_user_id = models.BigIntegerField("VK ID пользователя")
    is_admin = models.BooleanField("администратор", default=False)
    # False between writing down an «add» and its acknowledgement: the person may or may not
    # be in the chat, so the next push sends the add (or the removal) again.
    confirmed = models.BooleanField("подтверждён мессенджером", default=True)

    class Meta:
        verbose_name = "участник в мессенджере"
        verbose_name_plural = "участники в мессенджере"
        constraints = [
            models.UniqueConstraint(
                fields=["remote_chat", "vk_user_id"], name="remotemember_unique"
            )
        ]

    def __str__(self) -> str:
        return f"id{self.vk_user_id} в {self.remote_chat_id}"


class RemoteCall(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "запланирован"
        FINISHED = "finished", "завершён"
        DELETED = "deleted", "удалён"

    call = models.OneToOneField(
        "calls.OnlineCall", on_delete=models.CASCADE, verbose_name="звонок", related_name="remote"
    )
    remote_call_id = models.BigIntegerField("id звонка в мессенджере")
    title = models.CharField("название в мессенджере", max_length=255)
    starts_at = models.DateTimeField("начало в мессенджере")
    status = models.CharField("статус в мессенджере", max_length=16, choices=Status.choices)
    join_link = models.URLField("ссылка для входа", max_length=500, blank=True)
    synced_version = models.DateTimeField("отражает изменения на", null=True, blank=True)
    last_error = models.TextField("последняя ошибка", blank=True)
    error_at = models.DateTimeField("когда ошибка", null=True, blank=True)

    class Meta:
        verbose_name = "звонок в мессенджере"
        verbose_name_plural = "звонки в мессенджере"

    def __str__(self) -> str:
        return f"{self.title} (id{self.remote_call_id})"


class SyncRun(models.Model):
    """One push to the messenger (B1): when, what it touched, what failed.

    At most one push runs per college at a time: a second one cannot insert its «running» row
    (a partial unique index); a row whose heartbeat is stale was left by a killed process and
    is taken over.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "выполняется"
        OK = "ok", "успешно"
        ERRORS = "errors", "с ошибками"
        ABANDONED = "abandoned", "прервана"

    class Trigger(models.TextChoices):
        NIGHTLY = "nightly", "ночная"
        IMMEDIATE = "immediate", "сразу после изменения"
        MANUAL = "manual", "вручную"

    organization = models.ForeignKey(
        "directory.Organization",
        on_delete=models.CASCADE,
        verbose_name="организация",
        related_name="+",
    )
    trigger = models.CharField("запуск", max_length=16, choices=Trigger.choices)
    status = models.CharField("итог", max_length=16, choices=Status.choices)
    started_at = models.DateTimeField("начало", default=timezone.now)
    heartbeat_at = models.DateTimeField("последний признак жизни", default=timezone.now)
    finished_at = models.DateTimeField("окончание", null=True, blank=True)
    chats_touched = models.PositiveIntegerField("чатов затронуто", default=0)
    calls_touched = models.PositiveIntegerField("звонков затронуто", default=0)
    operations = models.JSONField("операции по видам", default=dict, blank=True)
    errors = models.JSONField("ошибки", default=list, blank=True)

    class Meta:
        verbose_name = "передача в мессенджер"
        verbose_name_plural = "передачи в мессенджер"
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(status="running"),
                name="syncrun_one_running_push_per_organization",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.started_at:%d.%m.%Y %H:%M} — {self.get_status_display()}"


class VkIdAttempt(models.Model):
    """One «Привязать учебный профиль VK ID» round trip (F9): its `state` and PKCE verifier
    stay on the server, are used once and expire."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=64, unique=True)
    code_verifier = models.CharField(max_length=128)
    redirect_uri = models.URLField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "попытка привязки VK ID"
        verbose_name_plural = "попытки привязки VK ID"

    def __str__(self) -> str:
        return f"{self.person_id} {self.created_at:%d.%m.%Y %H:%M}"

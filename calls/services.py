"""Every change to online calls goes through here (F19–F25): one function per action, each in
one transaction that re-checks the person's rights, writes the change, its `AuditEvent` and
the last actor, and hands the call to the messenger once the transaction commits."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from calls.access import NOT_ALLOWED, acts_in, can_manage_calls
from calls.models import CallsSeen, OnlineCall
from directory.models import Lesson, Organization, Person
from directory.selectors import Roles
from epos_chats.audit import record
from epos_chats.models import AuditEvent, Chat
from epos_chats.services import ChatError

logger = logging.getLogger(__name__)

Status = OnlineCall.Status
Action = OnlineCall.Action

TITLE_MAX = OnlineCall._meta.get_field("title").max_length

# The seed's texts, word for word.
ALREADY_PUBLISHED = (
    "Внимание! В чате создан онлайн-звонок со статусом «Опубликован». Для создания нового "
    "онлайн-звонка необходимо завершить опубликованный звонок"
)
MESSAGE_PUBLISHED = "Онлайн-звонок опубликован"
MESSAGE_FINISHED = "Онлайн-звонок завершён"
MESSAGE_CREATED = "Онлайн-звонок создан"
MESSAGE_UPDATED = "Онлайн-звонок сохранён"
MESSAGE_DELETED = "Онлайн-звонок удалён"
ALREADY_DELETED = "Звонок уже удалён"

_REFUSED = {
    Action.EDIT: "Редактировать можно только звонок в статусе «Создан».",
    Action.PUBLISH: "Опубликовать можно только звонок в статусе «Создан».",
    Action.FINISH: "Завершить можно только звонок в статусе «Опубликован».",
}


class CallError(ChatError):
    """A change the rules do not allow; the message is shown to the person as it is, next to
    `field` (a form field's name) when there is one."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# Reads the rules share with the create/edit form --------------------------------------------


def default_title(chat: Chat) -> str:
    """F20: «Онлайн-занятие <дисциплина>» for a «Дисциплина» chat, empty for the others."""
    if chat.kind != Chat.Kind.DISCIPLINE:
        return ""
    return f"Онлайн-занятие {chat.teaching.discipline.name}"


def schedulable_lessons(chat: Chat) -> QuerySet[Lesson]:
    """F20: the lessons a call of a «Дисциплина» chat may be tied to — the active lessons of
    its group-by-discipline in «Расписание» (none for other chats)."""
    if chat.kind != Chat.Kind.DISCIPLINE or chat.teaching_id is None:
        return Lesson.objects.none()
    return Lesson.objects.active().filter(teaching_id=chat.teaching_id, teaching__is_active=True)


# Validation -----------------------------------------------------------------------------------


def _clean_title(chat: Chat, title: str | None) -> str:
    title = (title or "").strip()
    if not title:
        title = default_title(chat)
    if not title:
        raise CallError("Укажите наименование звонка.", field="title")
    if len(title) > TITLE_MAX:
        raise CallError(
            f"Наименование звонка — не длиннее {TITLE_MAX} символов, сейчас {len(title)}.",
            field="title",
        )
    return title


def _starts_at(
    chat: Chat,
    *,
    date: dt.date | None,
    time: dt.time | None,
    lesson: Lesson | None,
    now: dt.datetime,
) -> tuple[dt.datetime, Lesson | None]:
    """When the call starts (in the college's clock) and the lesson it is tied to."""
    zone = chat.organization.zone
    today = timezone.localdate(now, zone)
    if date is None:
        raise CallError("Укажите дату звонка.", field="date")
    if date < today:
        raise CallError(
            "Дата звонка уже прошла: выберите сегодняшнюю или более позднюю.", field="date"
        )

    if chat.kind == Chat.Kind.DISCIPLINE:
        lessons = schedulable_lessons(chat)
        if not lessons.filter(date=date).exists():
            raise CallError(
                f"На {date:%d.%m.%Y} в расписании нет занятий этой группы по дисциплине.",
                field="date",
            )
        if lesson is None:
            raise CallError("Выберите урок в расписании.", field="lesson")
        if not lessons.filter(pk=lesson.pk).exists():
            raise CallError(
                "Этот урок не из расписания группы по дисциплине этого чата.", field="lesson"
            )
        if lesson.date != date:
            raise CallError(
                f"Выбранный урок — не на {date:%d.%m.%Y}: выберите урок этой даты.",
                field="lesson",
            )
        starts_at = dt.datetime.combine(lesson.date, lesson.start, tzinfo=zone)
        time_field = "lesson"
    else:
        if lesson is not None:
            raise CallError(
                "Урок в расписании выбирается только для чата типа «Дисциплина».", field="lesson"
            )
        if time is None:
            raise CallError("Укажите время звонка.", field="time")
        starts_at = dt.datetime.combine(date, time.replace(tzinfo=None), tzinfo=zone)
        time_field = "time"

    if starts_at < now:
        raise CallError(
            f"Время звонка {timezone.localtime(starts_at, zone):%H:%M} сегодня уже прошло.",
            field=time_field,
        )
    return starts_at, lesson


def _state(call: OnlineCall) -> dict:
    """What the audit log keeps of a call before and after a change."""
    return {
        "title": call.title,
        "starts_at": call.starts_at.astimezone(dt.UTC).isoformat(),
        "lesson": call.lesson_id,
        "status": str(call.status),
        "deleted": call.deleted_at is not None,
    }


# Shared steps ---------------------------------------------------------------------------------


def _ensure_may_manage(actor: Person, roles: Roles, chat: Chat) -> None:
    # A chat deleted while the form was open is news for its college, none of another's.
    if chat.is_deleted and acts_in(roles, chat.organization_id):
        raise CallError(f"Чат «{chat.title}» удалён.")
    if not can_manage_calls(actor, roles, chat):
        raise PermissionDenied(NOT_ALLOWED)


def refusal(call: OnlineCall, action: str) -> str:
    """Why `action` may not be taken on the call now; "" when it may."""
    if call.is_deleted:
        return ALREADY_DELETED
    if not call.allows(action):
        return f"{_REFUSED[action]} Этот звонок сейчас в статусе «{call.get_status_display()}»."
    return ""


def _ensure_allows(call: OnlineCall, action: str) -> None:
    message = refusal(call, action)
    if message:
        raise CallError(message)


def _locked_call(call: OnlineCall) -> OnlineCall:
    """The call's row, locked and read afresh: whoever acted first decides what is allowed."""
    locked = OnlineCall.objects.select_for_update().filter(pk=call.pk).first()
    if locked is None or locked.is_deleted:
        raise CallError(ALREADY_DELETED)
    return locked


def _chat(chat_id: int, *, lock: bool = False) -> Chat:
    chats = Chat.objects.select_for_update() if lock else Chat.objects.all()
    return chats.get(pk=chat_id)


def _after_commit_push(call_id: int) -> None:
    """Runs once a change to the call is committed: calls go to the messenger at once (F28),
    so this is where the messenger push of the call is started."""
    from vk_sync.tasks import push_call_task, send_push

    send_push(push_call_task, call_id)


def _changed(call: OnlineCall, *, actor: Person | None, action: str, before: dict) -> None:
    record(
        actor=actor,
        organization=call.chat.organization,
        action=action,
        obj=call,
        before=before,
        after=_state(call),
    )
    transaction.on_commit(partial(_after_commit_push, call.pk))


# The actions ----------------------------------------------------------------------------------


def call_create(
    *,
    actor: Person,
    roles: Roles,
    chat: Chat,
    title: str | None,
    date: dt.date | None,
    time: dt.time | None = None,
    lesson: Lesson | None = None,
    now: dt.datetime | None = None,
) -> OnlineCall:
    """F20/F21: a call in status «Создан». A «Дисциплина» chat's call starts with the chosen
    lesson (`time` is not used); any other chat's at `date` `time`, in the college's clock."""
    now = now or timezone.now()
    with transaction.atomic():
        chat = _chat(chat.pk, lock=True)
        _ensure_may_manage(actor, roles, chat)
        clean_title = _clean_title(chat, title)
        starts_at, lesson = _starts_at(chat, date=date, time=time, lesson=lesson, now=now)
        call = OnlineCall.objects.create(
            chat=chat,
            title=clean_title,
            starts_at=starts_at,
            lesson=lesson,
            status=Status.CREATED,
            created_by=actor,
            last_actor=actor,
            created_at=now,
            changed_at=now,
        )
        _changed(call, actor=actor, action=AuditEvent.Action.CALL_CREATED, before={})
    return call


def call_update(
    *,
    actor: Person,
    roles: Roles,
    call: OnlineCall,
    title: str | None,
    date: dt.date | None,
    time: dt.time | None = None,
    lesson: Lesson | None = None,
    now: dt.datetime | None = None,
) -> OnlineCall:
    """Edit a «Создан» call with the rules of its creation; an unchanged call stays as it is."""
    now = now or timezone.now()
    with transaction.atomic():
        call = _locked_call(call)
        chat = _chat(call.chat_id)
        call.chat = chat
        _ensure_may_manage(actor, roles, chat)
        _ensure_allows(call, Action.EDIT)
        clean_title = _clean_title(chat, title)
        starts_at, lesson = _starts_at(chat, date=date, time=time, lesson=lesson, now=now)
        if (clean_title, starts_at, lesson and lesson.pk) == (
            call.title,
            call.starts_at,
            call.lesson_id,
        ):
            return call
        before = _state(call)
        call.title, call.starts_at, call.lesson = clean_title, starts_at, lesson
        call.last_actor, call.changed_at = actor, now
        call.save(update_fields=["title", "starts_at", "lesson", "last_actor", "changed_at"])
        _changed(call, actor=actor, action=AuditEvent.Action.CALL_UPDATED, before=before)
    return call


def _chat_has_published_call(chat: Chat, *, besides: OnlineCall) -> bool:
    return OnlineCall.objects.published().filter(chat=chat).exclude(pk=besides.pk).exists()


def call_publish(
    *, actor: Person, roles: Roles, call: OnlineCall, now: dt.datetime | None = None
) -> OnlineCall:
    """F23: «Создан» → «Опубликован», unless the chat already has a published call. The chat's
    row is locked first, so concurrent publishes in one chat queue and the later ones see the
    first; the partial unique index stands behind it."""
    now = now or timezone.now()
    with transaction.atomic():
        chat = _chat(call.chat_id, lock=True)
        call = _locked_call(call)
        call.chat = chat
        _ensure_may_manage(actor, roles, chat)
        _ensure_allows(call, Action.PUBLISH)
        if _chat_has_published_call(chat, besides=call):
            raise CallError(ALREADY_PUBLISHED)
        before = _state(call)
        call.status = OnlineCall.TRANSITIONS[Action.PUBLISH][call.status]
        call.published_at = call.changed_at = now
        call.last_actor = actor
        try:
            with transaction.atomic():
                call.save(update_fields=["status", "published_at", "last_actor", "changed_at"])
        except IntegrityError:
            raise CallError(ALREADY_PUBLISHED) from None
        _changed(call, actor=actor, action=AuditEvent.Action.CALL_PUBLISHED, before=before)
    return call


def call_finish(
    *, actor: Person, roles: Roles, call: OnlineCall, now: dt.datetime | None = None
) -> OnlineCall:
    """F24: «Опубликован» → «Завершён»; the call disappears for the chat's members."""
    now = now or timezone.now()
    with transaction.atomic():
        call = _locked_call(call)
        chat = _chat(call.chat_id)
        call.chat = chat
        _ensure_may_manage(actor, roles, chat)
        _ensure_allows(call, Action.FINISH)
        before = _state(call)
        call.status = OnlineCall.TRANSITIONS[Action.FINISH][call.status]
        call.finished_at = call.changed_at = now
        call.last_actor = actor
        call.save(update_fields=["status", "finished_at", "last_actor", "changed_at"])
        _changed(call, actor=actor, action=AuditEvent.Action.CALL_FINISHED, before=before)
    return call


def call_delete(
    *, actor: Person, roles: Roles, call: OnlineCall, now: dt.datetime | None = None
) -> OnlineCall:
    """F25: from any status; the call leaves the list, and the push deletes it in the
    messenger. Deleting a deleted call is refused, changing nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        call = _locked_call(call)
        chat = _chat(call.chat_id)
        call.chat = chat
        _ensure_may_manage(actor, roles, chat)
        _ensure_allows(call, Action.DELETE)
        before = _state(call)
        call.deleted_at = call.changed_at = now
        call.last_actor = actor
        call.save(update_fields=["deleted_at", "last_actor", "changed_at"])
        _changed(call, actor=actor, action=AuditEvent.Action.CALL_DELETED, before=before)
    return call


# The night ------------------------------------------------------------------------------------


def finish_stale_calls(organization: Organization, *, now: dt.datetime) -> int:
    """F24: at 00:00 finish every published call of the college that started before today (by
    the college's clock), in one UPDATE, with one audit event per call (the system acted).
    Idempotent: a second run finds nothing. Returns how many calls it finished."""
    zone = organization.zone
    start_of_today = dt.datetime.combine(timezone.localdate(now, zone), dt.time.min, tzinfo=zone)
    with transaction.atomic():
        stale = OnlineCall.objects.published().filter(
            chat__in=Chat.objects.filter(organization=organization).values("pk"),
            starts_at__lt=start_of_today,
        )
        # Locked, so a person finishing or deleting one of them now waits, then finds it done.
        rows = list(stale.select_for_update().values_list("pk", "title", "starts_at", "lesson_id"))
        if not rows:
            return 0
        ids = [row[0] for row in rows]
        finished = (
            OnlineCall.objects.published()
            .filter(pk__in=ids)
            .update(status=Status.FINISHED, finished_at=now, changed_at=now)
        )
        AuditEvent.objects.bulk_create(
            AuditEvent(
                organization=organization,
                actor=None,
                action=AuditEvent.Action.CALL_FINISHED,
                object_type=OnlineCall._meta.model_name,
                object_id=pk,
                object_repr=title[:300],
                before=_row_state(title, starts_at, lesson_id, Status.PUBLISHED),
                after=_row_state(title, starts_at, lesson_id, Status.FINISHED),
                at=now,
            )
            for pk, title, starts_at, lesson_id in rows
        )
        transaction.on_commit(partial(_push_all, ids))
    return finished


def _row_state(title: str, starts_at: dt.datetime, lesson_id: int | None, status: str) -> dict:
    return {
        "title": title,
        "starts_at": starts_at.astimezone(dt.UTC).isoformat(),
        "lesson": lesson_id,
        "status": str(status),
        "deleted": False,
    }


def _push_all(call_ids: list[int]) -> None:
    for call_id in call_ids:
        _after_commit_push(call_id)


# The mark next to «Сообщения» (F27) -----------------------------------------------------------


def mark_calls_seen(
    *, person: Person, organization: Organization, now: dt.datetime | None = None
) -> None:
    """F27: the person opened the VK block of «Чаты» in the college: calls published until now
    no longer mark «Сообщения». One statement, safe under concurrent page views."""
    CallsSeen.objects.bulk_create(
        [CallsSeen(person=person, organization=organization, seen_at=now or timezone.now())],
        update_conflicts=True,
        unique_fields=["person", "organization"],
        update_fields=["seen_at"],
    )

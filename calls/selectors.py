"""Reads of online calls for pages: a chat's list (F19, F22), the lessons the form offers (F20),
the mark next to «Сообщения» (F27), the join page (F26). Each in a fixed number of queries."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from calls.models import CallsSeen, OnlineCall
from calls.services import schedulable_lessons
from directory.models import Lesson, Organization, Person
from directory.selectors import fetch
from epos_chats.models import Chat, ChatMember
from vk_sync.models import RemoteCall, VkLink


def chat_calls(chat: Chat) -> list[OnlineCall]:
    """The chat's live calls, the latest start first, with their last actors: one query."""
    return list(OnlineCall.objects.alive().filter(chat=chat).select_related("last_actor"))


def upcoming_lessons(chat: Chat, now: dt.datetime) -> QuerySet[Lesson]:
    """F20: the lessons a call of a «Дисциплина» chat may still be tied to — those of its
    group-by-discipline that have not started yet by the college's clock."""
    local = timezone.localtime(now, chat.organization.zone)
    return (
        schedulable_lessons(chat)
        .filter(Q(date__gt=local.date()) | Q(date=local.date(), start__gt=local.time()))
        .order_by("date", "start", "pk")
    )


def lesson_dates(chat: Chat, now: dt.datetime) -> list[dt.date]:
    """«Дата звонка» of a «Дисциплина» chat: the dates with lessons ahead, in one query."""
    return list(
        upcoming_lessons(chat, now).order_by("date").values_list("date", flat=True).distinct()
    )


def lessons_on(chat: Chat, date: dt.date | None, now: dt.datetime) -> list[Lesson]:
    """«Урок в расписании»: the date's lessons ahead, with their discipline, in one query."""
    if date is None:
        return []
    return list(
        upcoming_lessons(chat, now).filter(date=date).select_related("teaching__discipline")
    )


def other_published_call(call: OnlineCall) -> bool:
    """F23: whether the call's chat already has another published call."""
    return OnlineCall.objects.published().filter(chat_id=call.chat_id).exclude(pk=call.pk).exists()


def has_vk_link(person: Person) -> bool:
    return VkLink.objects.filter(person=person).exists()


# Plain joins rather than nested subqueries: the ORM spent more building the query than the
# database running it, and it is asked on every page with the menu. A call's chat, the
# person's membership and their one CallsSeen row of the college (unique) are one row each;
# `published_at` is set on every published call (a constraint).
_UNSEEN_CALL_SQL = f"""
    SELECT 1
    FROM {OnlineCall._meta.db_table} oc
    INNER JOIN {Chat._meta.db_table} c ON c.id = oc.chat_id
    INNER JOIN {ChatMember._meta.db_table} m ON m.chat_id = c.id AND m.person_id = %s
    LEFT JOIN {CallsSeen._meta.db_table} s ON s.person_id = %s AND s.organization_id = %s
    WHERE oc.status = %s AND oc.deleted_at IS NULL
        AND c.organization_id = %s AND c.platform = %s AND c.deleted_at IS NULL
        AND oc.last_actor_id <> %s
        AND (s.id IS NULL OR oc.published_at > s.seen_at)
    LIMIT 1
"""


def unseen_call_query(person: Person, organization: Organization) -> tuple[str, list]:
    """The SQL of `has_unseen_call` and its parameters (the menu reads it with the ЭПОС
    mark: epos_chats/menu.py)."""
    return _UNSEEN_CALL_SQL, [
        person.pk,
        person.pk,
        organization.pk,
        OnlineCall.Status.PUBLISHED.value,
        organization.pk,
        Chat.Platform.VK.value,
        person.pk,
    ]


def has_unseen_call(person: Person, organization: Organization) -> bool:
    """F27: whether a live call was published in one of the person's messenger chats of the
    college after they last opened the VK block (ever, when they never did), by someone else:
    a published call's last actor is its publisher, who needs no news of it. One query."""
    return bool(fetch(*unseen_call_query(person, organization)))


def join_link(call: OnlineCall) -> str:
    """The published call's link in VK Мессенджер: the messenger gives it when the push creates
    the call there and vk_sync keeps it with the call's remote state; "" until then."""
    if call.status != OnlineCall.Status.PUBLISHED:
        return ""
    link = RemoteCall.objects.filter(call=call).values_list("join_link", flat=True).first()
    return link or ""

"""Reads of online calls for pages: a chat's list (F19, F22), the lessons the form offers (F20),
the mark next to «Сообщения» (F27), the join page (F26). Each in a fixed number of queries."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from calls.models import CallsSeen, OnlineCall
from calls.services import schedulable_lessons
from directory.models import Lesson, Organization, Person
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


def has_unseen_call(person: Person, organization: Organization) -> bool:
    """F27: whether a live call was published in one of the person's messenger chats of the
    college after they last opened the VK block (ever, when they never did), by someone else:
    a published call's last actor is its publisher, who needs no news of it. One query."""
    seen = CallsSeen.objects.filter(
        person=person, organization=organization, seen_at__gte=OuterRef("published_at")
    )
    return (
        OnlineCall.objects.published()
        .filter(
            chat__in=Chat.objects.alive()
            .filter(organization=organization, platform=Chat.Platform.VK)
            .filter(pk__in=ChatMember.objects.filter(person=person).values("chat_id"))
        )
        .exclude(last_actor=person)
        .filter(~Exists(seen))
        .exists()
    )


def join_link(call: OnlineCall) -> str:
    """The published call's link in VK Мессенджер: the messenger gives it when the push creates
    the call there and vk_sync keeps it with the call's remote state; "" until then."""
    if call.status != OnlineCall.Status.PUBLISHED:
        return ""
    link = RemoteCall.objects.filter(call=call).values_list("join_link", flat=True).first()
    return link or ""

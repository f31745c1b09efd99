"""B6: a person's published calls as an iCalendar feed (RFC 5545), written by hand.

The feed is fetched by calendar apps without a session, by the secret token in its URL; a
reset issues a new token and the old URL answers 404.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from calls.models import CalendarToken, OnlineCall
from directory.models import Person
from epos_chats.models import Chat, ChatMember

CRLF = "\r\n"
LINE_OCTETS = 75
PRODID = "-//EPOS.SPO//Lichnye soobshcheniya//RU"
UID_DOMAIN = "calls.epos-spo"
# A call has no end in the journal; a lesson-bound call ends with its lesson.
DEFAULT_DURATION = "PT1H"


# Tokens -----------------------------------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def calendar_token_of(person: Person) -> CalendarToken | None:
    return CalendarToken.objects.filter(person=person).first()


@transaction.atomic
def calendar_token_reset(*, person: Person) -> CalendarToken:
    """Issue the person a new token (their first, or instead of the old one)."""
    token, created = CalendarToken.objects.select_for_update().get_or_create(
        person=person, defaults={"token": _new_token()}
    )
    if not created:
        token.token = _new_token()
        token.created_at = timezone.now()
        token.save(update_fields=["token", "created_at"])
    return token


def person_by_token(token: str) -> Person | None:
    row = CalendarToken.objects.filter(token=token).select_related("person").first()
    if row is None or not row.person.is_active:
        return None
    return row.person


# What goes in -------------------------------------------------------------------------------


def calls_of(person: Person) -> QuerySet:
    """The person's calls for the calendar: published (and, afterwards, finished) calls of the
    live messenger chats they are a member of; never a deleted or a not yet published one."""
    member = ChatMember.objects.filter(chat_id=OuterRef("chat_id"), person=person)
    return (
        OnlineCall.objects.alive()
        .filter(
            Exists(member),
            status__in=[OnlineCall.Status.PUBLISHED, OnlineCall.Status.FINISHED],
            chat__deleted_at__isnull=True,
            chat__platform=Chat.Platform.VK,
        )
        .select_related("chat__organization", "lesson")
        .order_by("starts_at", "pk")
    )


# RFC 5545 ---------------------------------------------------------------------------------------


def escape_text(value: str) -> str:
    """TEXT values (3.3.11): backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Content lines longer than 75 octets folded (3.1): CRLF and a space, never inside a
    multi-byte UTF-8 character."""
    parts: list[str] = []
    current, size, limit = "", 0, LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            # The continuation's leading space counts towards its 75 octets.
            current, size, limit = "", 0, LINE_OCTETS - 1
        current += char
        size += width
    parts.append(current)
    return (CRLF + " ").join(parts)


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _end_of(call: OnlineCall) -> str:
    lesson = call.lesson
    if lesson is not None and lesson.date == timezone.localdate(
        call.starts_at, call.chat.organization.zone
    ):
        end = dt.datetime.combine(lesson.date, lesson.end, tzinfo=call.chat.organization.zone)
        if end > call.starts_at:
            return f"DTEND:{utc(end)}"
    return f"DURATION:{DEFAULT_DURATION}"


def event_lines(call: OnlineCall, join_url: str) -> list[str]:
    chat = call.chat
    description = f"Онлайн-звонок в чате «{chat.title}» ({chat.organization})."
    return [
        "BEGIN:VEVENT",
        f"UID:call-{call.pk}@{UID_DOMAIN}",
        f"DTSTAMP:{utc(call.changed_at)}",
        f"LAST-MODIFIED:{utc(call.changed_at)}",
        f"DTSTART:{utc(call.starts_at)}",
        _end_of(call),
        f"SUMMARY:{escape_text(call.title)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"LOCATION:{escape_text(chat.title)}",
        f"URL:{join_url}",
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "END:VEVENT",
    ]


def calendar(
    calls: Iterable[OnlineCall], *, join_url: Callable[[OnlineCall], str], name: str
) -> str:
    """The whole VCALENDAR, CRLF-terminated and folded."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        "X-WR-TIMEZONE:UTC",
        # Calendar apps that honour it refetch hourly: the feed follows the calls' changes.
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]
    for call in calls:
        lines.extend(event_lines(call, join_url(call)))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)

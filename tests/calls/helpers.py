"""What the calls tests share: the fixed morning, and short ways to act as someone."""

import datetime as dt
import zoneinfo

from calls import services
from directory.selectors import roles_of
from tests import factories

MSK = zoneinfo.ZoneInfo("Europe/Moscow")
# Tuesday 10 March 2026, 10:00 in Moscow: the clock of every calls test.
NOW = dt.datetime(2026, 3, 10, 10, 0, tzinfo=MSK)
TODAY = NOW.date()
TOMORROW = TODAY + dt.timedelta(days=1)
YESTERDAY = TODAY - dt.timedelta(days=1)


def person(login: str, fio: str):
    last_name, first_name, middle_name = fio.split()
    return factories.PersonFactory(
        login=login, last_name=last_name, first_name=first_name, middle_name=middle_name
    )


def person_of(role):
    return getattr(role, "person", role)


def chat(org, kind, title, *, admins=(), members=(), **fields):
    made = factories.ChatFactory(organization=org, kind=kind, title=title, **fields)
    for role in admins:
        factories.ChatMemberFactory(chat=made, person=person_of(role), is_admin=True)
    for role in members:
        factories.ChatMemberFactory(chat=made, person=person_of(role))
    return made


def roles(role, org):
    return roles_of(person_of(role), org)


def create(college, chat=None, by=None, **fields):
    """A call made by the OO admin (or `by`): in the custom chat tomorrow at 12:00, in the
    «Дисциплина» chat at tomorrow's lesson."""
    chat = chat or college.custom_chat
    by = by or college.admin
    fields.setdefault("date", TOMORROW)
    if chat.kind == "discipline":
        fields.setdefault("lesson", college.lesson_tomorrow)
    else:
        fields.setdefault("time", dt.time(12, 0))
    fields.setdefault("title", "Классный час")
    return services.call_create(
        actor=person_of(by), roles=roles(by, chat.organization), chat=chat, **fields
    )


def act(action: str, call, by, **fields):
    """Run `calls.services.call_<action>` on the call as `by`."""
    service = getattr(services, f"call_{action}")
    return service(
        actor=person_of(by), roles=roles(by, call.chat.organization), call=call, **fields
    )

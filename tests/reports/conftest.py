"""A small college whose figures are counted by hand in the tests, on a fixed Tuesday."""

import datetime as dt
import zoneinfo
from types import SimpleNamespace

import pytest
import time_machine

from reports.models import RegionAdministrator
from tests import factories
from vk_sync.models import RemoteCall, RemoteChat, SyncRun

MSK = zoneinfo.ZoneInfo("Europe/Moscow")
# Tuesday 10 March 2026, 10:00 in Moscow; the week began on Monday the 9th.
NOW = dt.datetime(2026, 3, 10, 10, 0, tzinfo=MSK)


def at(day: int, hour: int, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=MSK)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def linked(role):
    factories.VkLinkFactory(person=role.person)
    return role


def member(chat, role, *, admin=False):
    factories.ChatMemberFactory(chat=chat, person=role.person, is_admin=admin)


def call(chat, *, status="published", published_at=None, starts_at=None, **fields):
    made = factories.CallFactory(
        chat=chat, status=status, starts_at=starts_at or at(11, 12), **fields
    )
    if published_at is not None:
        made.published_at = published_at
        made.save(update_fields=["published_at"])
    return made


@pytest.fixture
def college(db):
    """КПТ, by hand:

    staff 4 (linked: admin, teacher) — teachers 2 (linked: teacher);
    ИС-11 (curator: teacher; «Группа» and «Родители» chats): students 2 (1 linked),
    parents 2 (1 linked) — ИС-21 (no curator, no chats): students 1/1, parents 1/1;
    an inactive linked student of ИС-11 counts nowhere;
    messenger chats 4, of them 2 with no admin linked to VK ID and 2 with a call this week;
    calls published: 1 last week, 2 this week; last push «с ошибками», 1 chat and 1 call failed.
    """
    org = factories.OrganizationFactory(code="kpt", short_name="КПТ", name="ГБПОУ КПТ")
    admin = linked(
        factories.StaffMemberFactory(organization=org, is_admin=True, position="Директор")
    )
    teacher = linked(factories.StaffMemberFactory(organization=org))
    teacher2 = factories.StaffMemberFactory(organization=org)
    clerk = factories.StaffMemberFactory(organization=org, position="Секретарь")

    group_a = factories.GroupFactory(organization=org, name="ИС-11", course=1, curators=[teacher])
    group_b = factories.GroupFactory(organization=org, name="ИС-21", course=2)
    s1 = linked(factories.StudentFactory(group=group_a))
    s2 = factories.StudentFactory(group=group_a)
    s3 = linked(factories.StudentFactory(group=group_b))
    gone = linked(factories.StudentFactory(group=group_a, is_active=False))
    g1 = linked(factories.GuardianFactory(organization=org, children=[s1, s2]))
    g2 = factories.GuardianFactory(organization=org, children=[s2])
    g3 = linked(factories.GuardianFactory(organization=org, children=[s3]))
    for teaches, group in ((teacher, group_a), (teacher2, group_b)):
        factories.TeachingFactory(group=group, teachers=[teaches])

    group_chat = factories.ChatFactory(
        organization=org, kind="group", group=group_a, title="Группа ИС-11"
    )
    parents_chat = factories.ChatFactory(
        organization=org, kind="parents", group=group_a, title="Родители ИС-11"
    )
    custom_chat = factories.ChatFactory(organization=org, title="Кружок «Робототехника»")
    discipline_chat = factories.ChatFactory(
        organization=org,
        kind="discipline",
        title="Информатика ИС-21",
        teaching=factories.TeachingFactory(group=group_b),
    )
    deleted_chat = factories.ChatFactory(organization=org, title="Удалённый", deleted_at=at(1, 9))
    epos_chat = factories.ChatFactory(organization=org, title="ЭПОС-беседа", platform="epos")
    member(group_chat, teacher, admin=True)
    member(group_chat, s1)
    member(parents_chat, teacher, admin=True)
    member(parents_chat, g1)
    member(custom_chat, teacher2, admin=True)
    member(custom_chat, s1)
    member(discipline_chat, s3)

    this_week = call(group_chat, published_at=at(10, 9), starts_at=at(11, 12))
    finished = call(
        custom_chat,
        status="finished",
        published_at=at(9, 8),
        starts_at=at(9, 9),
        finished_at=at(9, 10),
    )
    call(discipline_chat, status="created", starts_at=at(11, 9))
    call(parents_chat, published_at=at(10, 8), starts_at=at(12, 9), deleted_at=at(10, 9))
    last_week = call(parents_chat, published_at=at(3, 12), starts_at=at(5, 12))

    SyncRun.objects.create(organization=org, trigger="nightly", status="ok", started_at=at(8, 2))
    SyncRun.objects.create(
        organization=org, trigger="nightly", status="errors", started_at=at(10, 2)
    )
    RemoteChat.objects.create(chat=group_chat, remote_chat_id=1, title="Группа ИС-11")
    RemoteChat.objects.create(
        chat=custom_chat, remote_chat_id=2, title="Кружок", last_error="access denied"
    )
    RemoteCall.objects.create(
        call=this_week,
        remote_call_id=1,
        title="x",
        starts_at=this_week.starts_at,
        status="scheduled",
        last_error="timeout",
    )

    other = factories.OrganizationFactory(code="kmt", short_name="КМТ", name="ГБПОУ КМТ")
    other_admin = linked(factories.StaffMemberFactory(organization=other, is_admin=True))
    other_chat = factories.ChatFactory(organization=other, title="Чат КМТ")
    member(other_chat, other_admin, admin=True)
    call(other_chat, published_at=at(10, 9))

    return SimpleNamespace(**locals())


@pytest.fixture
def region_admin(db):
    person = factories.PersonFactory(login="region")
    RegionAdministrator.objects.create(person=person)
    return person


@pytest.fixture
def as_person(client):
    def sign_in(role_or_person):
        client.force_login(getattr(role_or_person, "person", role_or_person))
        return client

    return sign_in

"""Personal data (152-ФЗ, issue 10 point 4): only what the messenger needs leaves the journal —
VK user ids, roles, chat titles, call titles and times — and the logs carry no tokens or FIO.

Every request the adapter sends during a full push is recorded at the wire (an httpx event
hook) and searched for every person's FIO, login, and for anything shaped like a phone number
or an e-mail address.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from urllib.parse import parse_qsl

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from directory.models import Person
from epos_chats.services import rebuild_mandatory_chats
from tests import factories
from vk_sync.adapter import VkMessengerGateway
from vk_sync.models import VkLink
from vk_sync.ratelimit import LocalRateLimiter
from vk_sync.reconcile import push_organization

pytestmark = pytest.mark.django_db

PHONE = re.compile(r"(?<!\d)(?:\+7|8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


class Recorder:
    def __init__(self):
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> None:
        request.read()
        body = "&".join(f"{k}={v}" for k, v in parse_qsl(request.content.decode()))
        self.requests.append(f"{request.method} {request.url}\n{body}")


def college():
    org = factories.OrganizationFactory()
    admin = factories.StaffMemberFactory(organization=org, is_admin=True)
    curator = factories.StaffMemberFactory(organization=org)
    group = factories.GroupFactory(organization=org, curators=[curator])
    teaching = factories.TeachingFactory(group=group, teachers=[curator])
    for _ in range(4):
        student = factories.StudentFactory(organization=org, group=group)
        teaching.students.add(student)
        factories.GuardianFactory(organization=org, children=[student])
    rebuild_mandatory_chats(org)
    for person in Person.objects.filter(pk__in=_people_of(org)):
        factories.VkLinkFactory(person=person)
    chat = factories.ChatFactory(organization=org, title="Кружок робототехники")
    factories.ChatMemberFactory(chat=chat, person=admin.person, is_admin=True)
    factories.CallFactory(
        chat=chat,
        title="Классный час",
        created_by=admin.person,
        status="published",
        starts_at=timezone.now() + dt.timedelta(days=1),
    )
    return org


def _people_of(org):
    from epos_chats.models import ChatMember

    return ChatMember.objects.filter(chat__organization=org).values_list("person_id", flat=True)


def push_recorded(org, emulator, *, must_succeed: bool = True) -> list[str]:
    recorder = Recorder()
    client = httpx.Client(timeout=5, event_hooks={"request": [recorder]})
    gateway = VkMessengerGateway(
        base_url=emulator.url,
        token="test-token",
        limiter=LocalRateLimiter(1000),
        client=client,
        backoff=0.01,
        max_backoff=0.05,
    )
    with gateway:
        run = push_organization(org, gateway=gateway, full=True)
    assert run.status == "ok" or not must_succeed, run.errors
    return recorder.requests


def forbidden_words() -> set[str]:
    words = set()
    for login, *names in Person.objects.values_list(
        "login", "last_name", "first_name", "middle_name"
    ):
        words.add(login)
        words.update(name for name in names if name)
        words.add(" ".join(name for name in names if name))
    return words


def leaks(text: str, words: set[str]) -> list[str]:
    found = [w for w in words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)]
    return found + PHONE.findall(text) + EMAIL.findall(text)


def test_a_full_push_sends_no_fio_login_phone_or_email(emulator):
    org = college()
    requests = push_recorded(org, emulator)
    assert len(requests) >= 2  # links, chats, members, the call: something went
    wire = "\n".join(requests)
    # What must go did go (the recording is real): VK ids, titles, roles.
    assert "Кружок робототехники" in wire and "Классный час" in wire
    assert str(VkLink.objects.filter(person__in=_people_of(org)).first().vk_user_id) in wire
    assert leaks(wire, forbidden_words()) == []
    # The people are known to the messenger by opaque ids only.
    state = emulator.state()
    assert state["links"] and all(
        re.fullmatch(r"person-\d+", link["external_user_id"]) for link in state["links"]
    )


def test_an_unlink_sends_no_login_either(emulator):
    org = college()
    push_recorded(org, emulator)
    VkLink.objects.filter(person__in=_people_of(org)).first().delete()
    requests = push_recorded(org, emulator)
    assert any("account.unregisterLink" in r for r in requests)
    assert leaks("\n".join(requests), forbidden_words()) == []


def test_logs_carry_no_tokens_and_no_fio(client, emulator, caplog, settings):
    caplog.set_level(logging.DEBUG)
    org = college()
    # A push that meets failures logs them (retries), and a sign-in, right and wrong.
    emulator.faults(fail_rate=0.3, kinds=["http500", "error6"], seed=7)
    push_recorded(org, emulator, must_succeed=False)
    person = factories.StaffMemberFactory(organization=org).person
    client.post(reverse("login"), {"username": person.login, "password": "wrong-secret"})
    client.post(reverse("login"), {"username": person.login, "password": "pass-1234"})
    # The product's own records (the test's factories and the emulator log for themselves).
    product = [
        r for r in caplog.records if not r.name.startswith(("vk_sync.emulator", "factory", "faker"))
    ]
    assert any(r.name.startswith("vk_sync") for r in product), "the push logged nothing to check"
    text = "\n".join(r.getMessage() + (str(r.exc_info) if r.exc_info else "") for r in product)
    assert "test-token" not in text and settings.VK_API_TOKEN not in text
    assert "wrong-secret" not in text and "pass-1234" not in text
    names = {w for w in forbidden_words() if " " in w or len(w) > 3}
    assert leaks(text, names) == []

"""Hostile input (issue 10, point 2): every form, fuzzed with hypothesis — random and boundary
strings, Cyrillic, emoji, NUL bytes, 10 000 characters, wrong types, missing fields — never
answers 500 and never leaves anything half-written; `next` and the VK ID callback never send
anyone off-site."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.models import OnlineCall
from directory.imports import DirectoryImportError, import_directory
from directory.models import Organization, Person, StaffMember, Student
from epos_chats.models import Chat, ChatMember
from tests.security.conftest import build_world

pytestmark = pytest.mark.django_db

HOSTILE = [
    "",
    " ",
    "\x00",
    "Чат\x00с нулём",
    "😀" * 50,
    "👨‍👩‍👧‍👦 семья",
    "Я" * 10_000,
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "' OR 1=1 --",
    "\u202eевитарпсо",
    "\ufeff",
    "%00",
    "../../etc/passwd",
    "0",
    "-1",
    "99999999999999999999",
    "2026-02-30",
    "25:61",
    "true",
]
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=300),
    st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВ 0123456789-«»", max_size=120),
)
# A field is sent as one value, as several (a list: a wrong type for a single field), or not at all.
field_value = st.one_of(
    st.none(),
    hostile_text,
    st.lists(hostile_text, min_size=2, max_size=3),
)

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def world(db):
    return build_world()


def post(client, url, fields: dict, **extra):
    data = {k: v for k, v in fields.items() if v is not None}
    response = client.post(url, data, **extra)
    assert response.status_code < 500, f"{url}: {response.status_code} for {fields!r:.300}"
    return response


def integrity():
    """What no request may leave half-written: every live chat has a title and a member, every
    title fits, every call belongs to a live chat's college and has a title."""
    for chat in Chat.objects.alive():
        assert chat.title.strip() and "\x00" not in chat.title, chat.pk
        assert len(chat.title) <= Chat._meta.get_field("title").max_length
        assert ChatMember.objects.filter(chat=chat).exists(), f"chat {chat.pk} without members"
    for call in OnlineCall.objects.all():
        assert call.title.strip() and "\x00" not in call.title
        assert call.starts_at is not None


@FUZZ
@given(username=field_value, password=field_value)
def test_sign_in(client, world, username, password):
    response = post(client, reverse("login"), {"username": username, "password": password})
    assert response.status_code == 200  # nobody guessed a real password
    assert "_auth_user_id" not in client.session


@FUZZ
@given(organization=field_value)
def test_organization_switch(client, world, organization):
    client.force_login(world.admin.person)
    response = post(client, reverse("switch_organization"), {"organization": organization})
    assert response.status_code in (302, 403)
    assert client.session.get("organization_id") in (None, world.org.pk)


@FUZZ
@given(
    title=field_value,
    add_short_name=field_value,
    request_key=field_value,
    draft=st.one_of(st.none(), hostile_text),
)
def test_chat_create(client, world, title, add_short_name, request_key, draft):
    client.force_login(world.admin.person)
    fields = {"title": title, "add_short_name": add_short_name, "request_key": request_key}
    url = reverse("epos_chats:create_custom") + (f"?draft={world.draft.pk}")
    post(client, url, fields | {"draft": draft})
    post(client, url, fields | {"draft": str(world.draft.pk)})
    integrity()


@FUZZ
@given(title=field_value, seen=field_value)
def test_chat_rename(client, world, title, seen):
    client.force_login(world.admin.person)
    before = Chat.objects.get(pk=world.custom_chat.pk).title
    post(
        client,
        reverse("epos_chats:rename", args=[world.custom_chat.pk]),
        {"title": title, "seen": seen},
    )
    after = Chat.objects.get(pk=world.custom_chat.pk).title
    # Renamed (to the last of several values, as Django reads a repeated field) or untouched.
    assert after == before or (after.strip() and "\x00" not in after)
    integrity()


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(["person", "admin", "page", "q", "select", "ids", "action", "draft"]),
        field_value,
        max_size=5,
    )
)
def test_chat_members_and_picker(client, world, fields):
    client.force_login(world.admin.person)
    post(client, reverse("epos_chats:members", args=[world.custom_chat.pk]), fields)
    post(client, reverse("epos_chats:draft_change", args=[world.draft.pk]), fields)
    post(
        client,
        reverse("epos_chats:member_admin", args=[world.custom_chat.pk, world.student.person.pk]),
        fields,
    )
    integrity()


@FUZZ
@given(title=field_value, date=field_value, time=field_value, lesson=field_value)
def test_call_create_and_edit(client, world, title, date, time, lesson):
    client.force_login(world.admin.person)
    fields = {"title": title, "date": date, "time": time, "lesson": lesson}
    post(client, reverse("calls:create", args=[world.custom_chat.pk]), fields)
    post(client, reverse("calls:edit", args=[world.draft_call.pk]), fields)
    integrity()


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["q", "kind", "course", "group", "call", "sort", "expand", "page"]),
        hostile_text,
        max_size=4,
    )
)
def test_chat_list_filters(client, world, params):
    client.force_login(world.admin.person)
    response = client.get(reverse("epos_chats:index"), {k: v for k, v in params.items()})
    assert response.status_code < 500


# --- the import file -----------------------------------------------------------------------

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "directory.example.json").read_text("utf-8")
)
MODELS = (Organization, Person, StaffMember, Student)


def _snapshot():
    return {m.__name__: sorted(m.objects.values_list("pk", flat=True)) for m in MODELS}


@FUZZ
@given(
    kind=st.sampled_from(["staff", "students", "parents", "groups"]),
    field=st.sampled_from(["last_name", "first_name", "middle_name", "login", "name", "position"]),
    value=st.one_of(st.sampled_from(HOSTILE), st.text(max_size=200)),
)
def test_an_import_file_with_hostile_strings_loads_cleanly_or_is_refused_whole(kind, field, value):
    doc = copy.deepcopy(EXAMPLE)
    entries = doc["organizations"][0][kind]
    if field not in entries[0]:
        return
    entries[0][field] = value
    before = _snapshot()
    try:
        import_directory(doc)
    except DirectoryImportError as error:
        assert error.errors, "a refusal names what is wrong"
        assert _snapshot() == before, "a refused file wrote something"
        return
    for person in Person.objects.all():
        for text in (person.login, person.last_name, person.first_name, person.middle_name):
            assert "\x00" not in text and len(text) <= 150


# --- redirects -----------------------------------------------------------------------------

OFF_SITE = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "\\\\evil.example",
    "/\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "http://testserver@evil.example/",
    "%2F%2Fevil.example",
]


def _stays_here(url: str) -> bool:
    """Where a browser would go from /login/: our host, over http(s)."""
    target = urlsplit(urljoin("http://testserver/login/", url.strip().replace("\\", "/")))
    return target.scheme == "http" and target.netloc == "testserver"


@pytest.mark.parametrize("target", OFF_SITE)
def test_next_never_sends_anyone_off_site(client, world, target):
    person = world.admin.person
    response = client.post(
        reverse("login") + "?next=" + target,
        {"username": person.login, "password": "pass-1234", "next": target},
    )
    assert response.status_code == 302
    assert _stays_here(response.url), response.url
    # Already signed in, the sign-in page sends on only to our own pages too.
    response = client.get(reverse("login"), {"next": target})
    assert response.status_code == 302 and _stays_here(response.url), response.url
    response = client.post(reverse("logout"), {"next": target})
    assert _stays_here(response.url), response.url


@pytest.mark.parametrize("target", OFF_SITE)
@pytest.mark.parametrize(
    "extra",
    [{"next": "T"}, {"redirect_uri": "T"}, {"return_to": "T"}, {"state": "T", "code": "T"}],
    ids=["next", "redirect_uri", "return_to", "state"],
)
def test_the_vk_id_callback_never_redirects_off_site(client, world, target, extra):
    client.force_login(world.admin.person)
    params = {k: target if v == "T" else v for k, v in extra.items()}
    response = client.get(reverse("vk_sync:callback"), params)
    assert response.status_code == 302
    assert response.url == reverse("epos_chats:index")


def test_the_vk_id_link_goes_only_to_the_configured_vk_id(client, world, settings):
    person = world.outsider.person  # not linked yet
    client.force_login(person)
    response = client.get(
        reverse("vk_sync:link"), {"next": "https://evil.example/"}, HTTP_HOST="testserver"
    )
    assert response.status_code == 302
    assert response.url.startswith(settings.VK_ID_AUTHORIZE_URL + "?")
    assert "evil.example" not in response.url


def test_a_forged_host_header_is_refused(world):
    client = Client()
    response = client.get(reverse("login"), HTTP_HOST="evil.example")
    assert response.status_code == 400

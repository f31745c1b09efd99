"""Every URL of the project is guarded (issue 10, point 1).

The URLs come from walking `get_resolver()`, not from a list kept by hand: a URL added by any
app is checked the day it appears, and one without an access check fails here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db.models import Model
from django.http import HttpResponseForbidden
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern

from calls.models import OnlineCall
from epos_chats.models import Chat, ChatMember
from vk_sync.models import VkLink


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    params: tuple[str, ...]

    @property
    def namespace(self) -> str:
        return self.name.rpartition(":")[0]


def _params(pattern) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters)
    return list(re.compile(pattern._regex).groupindex)


def walk(resolver=None, namespace: str = "", params: tuple[str, ...] = ()) -> list[Route]:
    resolver = resolver or get_resolver()
    routes = []
    for entry in resolver.url_patterns:
        here = params + tuple(_params(entry.pattern))
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            routes.extend(walk(entry, inner, here))
        elif isinstance(entry, URLPattern) and entry.name:
            routes.append(Route(f"{namespace}{entry.name}", here))
    return routes


ROUTES = walk()
PROJECT_ROUTES = [route for route in ROUTES if route.namespace != "admin"]
ADMIN_ROUTES = [route for route in ROUTES if route.namespace == "admin"]

# Public by design: each with its reason. Everything else sends a stranger to sign in.
PUBLIC = {
    "login": ({200}, "the sign-in page itself"),
    "logout": ({405}, "POST only; signing out of nothing changes nothing"),
    "admin:login": ({200}, "the admin's own sign-in page"),
    "admin:logout": ({302}, "goes to the admin index, which asks to sign in"),
    "calls:calendar_feed": (
        {404},
        "fetched by calendar apps without a session, by the secret token in its URL; "
        "a token nobody holds is 404",
    ),
}

# Values that fit any admin URL's parameters (their own checks answer before the object).
ADMIN_VALUES = {
    "app_label": "directory",
    "model_name": "person",
    "object_id": "1",
    "content_type_id": "1",
    "url": "x",
    "id": "1",
}

# A URL that answers GET with a page and changes the database on POST only. A view here that
# changes something on GET fails test_no_get_changes_anything.
GET_CHANGES_ALLOWED = {
    # The picker's selection is scratch space of the person (ChatDraft), not the college's data.
    "epos_chats:create_custom": "opens a fresh participant-picker draft",
    "epos_chats:members": "opens a participant-picker draft of the chat's members",
}


def object_values(world) -> dict[str, int]:
    """Ids of college A's objects for each URL parameter name."""
    return {
        "chat_id": world.custom_chat.pk,
        "call_id": world.call.pk,
        "person_id": world.student.person.pk,
        "draft_id": world.draft.pk,
        "organization_id": world.org.pk,
        "table": "chats",
        # A calendar token nobody holds: the feed is the only guard, and it must answer 404.
        "token": "no-such-token-0123456789abcdefghijklmnopqrstu",
    }


def url_of(route: Route, values: dict[str, object]) -> str:
    missing = [p for p in route.params if p not in values]
    assert not missing, (
        f"{route.name}: parameter(s) {missing} unknown to tests/security/test_url_guard.py — "
        "say which college's object they name, so the test can request another college's"
    )
    return reverse(route.name, kwargs={p: values[p] for p in route.params})


def _login_path(route: Route) -> str:
    return reverse("admin:login") if route.namespace == "admin" else reverse(settings.LOGIN_URL)


# --- anonymous -----------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_a_stranger_is_sent_to_sign_in(client, world, route):
    values = object_values(world) if route.namespace != "admin" else ADMIN_VALUES
    url = url_of(route, values)
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        if route.name in PUBLIC:
            if method == "get":
                assert response.status_code in PUBLIC[route.name][0], url
            continue
        if response.status_code == 405:
            # The method is refused before the view runs; the other method must still be
            # guarded (a view open to strangers answers it with a page, not a 302).
            continue
        assert response.status_code == 302, f"{method.upper()} {url}: {response.status_code}"
        assert response.url.startswith(_login_path(route)), f"{url} → {response.url}"


# --- a person of another college -------------------------------------------------------------


OBJECT_ROUTES = [route for route in PROJECT_ROUTES if route.params]


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=lambda r: r.name)
def test_another_colleges_admin_gets_404_for_our_objects(client, world, route):
    client.force_login(world.other_admin.person)
    values = object_values(world)
    url = url_of(route, values)
    nowhere = url_of(route, {k: 10**9 if isinstance(v, int) else v for k, v in values.items()})
    for method in ("get", "post"):
        response = getattr(client, method)(url, *([{"title": "Взлом"}] if method == "post" else []))
        code = response.status_code
        if code == 403:
            # A section closed to the person as a whole (the regional «Мониторинг») may say
            # 403, provided it says the same for an id that exists nowhere: no existence oracle.
            assert getattr(client, method)(nowhere).status_code == 403, f"{url}: 403 only for ours"
            continue
        # 405: the method is refused before the view looks at the object.
        assert code in (404, 405), f"{method.upper()} {url}: {code}"
    # …and nothing of college A changed.
    assert Chat.objects.get(pk=world.custom_chat.pk).deleted_at is None
    assert Chat.objects.get(pk=world.custom_chat.pk).title == "Кружок КПТ"
    assert OnlineCall.objects.get(pk=world.call.pk).status == "published"


def test_the_walk_finds_the_object_urls():
    """A guard over nothing proves nothing: the walk sees the URLs this test was written for."""
    names = {route.name for route in OBJECT_ROUTES}
    assert {"epos_chats:settings", "epos_chats:delete", "calls:publish", "calls:join"} <= names


# --- state-changing views and CSRF ----------------------------------------------------------


def _csrf_client(person) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    return client


def csrf_refused(request, reason=""):
    """CSRF_FAILURE_VIEW under test: a 403 that says it came from the CSRF check, not from a
    view's own refusal (which would hide a @csrf_exempt)."""
    response = HttpResponseForbidden("CSRF")
    response["X-Refused-By"] = "csrf"
    return response


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_a_post_without_a_csrf_token_is_refused(world, route, settings):
    settings.CSRF_FAILURE_VIEW = f"{__name__}.csrf_refused"
    client = _csrf_client(world.admin.person)
    values = object_values(world) if route.namespace != "admin" else ADMIN_VALUES
    url = url_of(route, values)
    response = client.post(url, {"title": "Подделка", "confirm": "1"})
    assert response.status_code == 403, f"POST {url} без CSRF: {response.status_code}"
    assert response.get("X-Refused-By") == "csrf", f"POST {url}: refused, but not by the CSRF check"
    assert Chat.objects.get(pk=world.custom_chat.pk).title == "Кружок КПТ"


# The views that change something and have no page of their own: GET is 405.
POST_ONLY = {
    "logout",
    "switch_organization",
    "epos_chats:member_admin",
    "epos_chats:draft_change",
}


@pytest.mark.parametrize("name", sorted(POST_ONLY))
def test_a_post_only_view_refuses_get(client, world, name):
    client.force_login(world.admin.person)
    route = next(route for route in ROUTES if route.name == name)
    assert client.get(url_of(route, object_values(world))).status_code == 405


def _fingerprint() -> tuple:
    """What a GET must never change: the college's chats, members, calls and links."""
    return (
        sorted(Chat.objects.values_list("pk", "title", "deleted_at")),
        sorted(ChatMember.objects.values_list("chat_id", "person_id", "is_admin")),
        sorted(OnlineCall.objects.values_list("pk", "status", "title", "deleted_at")),
        sorted(VkLink.objects.values_list("person_id", "vk_user_id")),
    )


def _counts(exclude: set[type[Model]]) -> dict[str, int]:
    from django.apps import apps

    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model not in exclude and model._meta.managed
    }


@pytest.mark.parametrize("route", PROJECT_ROUTES, ids=lambda r: r.name)
def test_no_get_changes_anything(client, world, route):
    from epos_chats.models import ChatDraft, ChatDraftMember

    client.force_login(world.admin.person)
    url = url_of(route, object_values(world))
    scratch = {Session, ChatDraft, ChatDraftMember} if route.name in GET_CHANGES_ALLOWED else set()
    before, counts = _fingerprint(), _counts({Session} | scratch)
    client.get(url)
    client.get(url, headers={"HX-Request": "true"})
    assert _fingerprint() == before, f"GET {url} changed the college's data"
    assert _counts({Session} | scratch) == counts, f"GET {url} wrote rows"


# --- each role on the main pages ------------------------------------------------------------


def _expect(world):
    a = world
    settings_of = reverse("epos_chats:settings", args=[a.custom_chat.pk])
    discipline_settings = reverse("epos_chats:settings", args=[a.discipline_chat.pk])
    return {
        "admin": {
            reverse("desktop"): 200,
            reverse("epos_chats:index"): 200,
            settings_of: 200,
            discipline_settings: 200,  # F7: the OO admin oversees every VK chat
            reverse("epos_chats:create"): 200,
            reverse("calls:create", args=[a.custom_chat.pk]): 200,
            reverse("calls:join", args=[a.call.pk]): 200,
        },
        "teacher": {
            reverse("desktop"): 200,
            reverse("epos_chats:index"): 200,
            discipline_settings: 200,
            reverse("epos_chats:create_discipline"): 200,
            reverse("calls:create", args=[a.discipline_chat.pk]): 200,
        },
        "outsider": {
            reverse("epos_chats:index"): 200,
            settings_of: 403,  # F7: not a member
            reverse("epos_chats:create_custom"): 403,  # F14: no teaching
            reverse("calls:create", args=[a.custom_chat.pk]): 403,
            reverse("calls:join", args=[a.call.pk]): 403,
            reverse("epos_chats:delete", args=[a.custom_chat.pk]): 403,
        },
        "student": {
            reverse("desktop"): 200,
            reverse("epos_chats:index"): 200,
            settings_of: 200,
            reverse("calls:join", args=[a.call.pk]): 200,
            reverse("calls:join", args=[a.draft_call.pk]): 404,  # not published yet
            reverse("calls:create", args=[a.custom_chat.pk]): 403,
            reverse("calls:publish", args=[a.draft_call.pk]): 403,
            reverse("epos_chats:create_custom"): 403,
            reverse("epos_chats:rename", args=[a.custom_chat.pk]): 403,
            reverse("epos_chats:delete", args=[a.custom_chat.pk]): 403,
        },
        "guardian": {
            reverse("desktop"): 200,
            reverse("epos_chats:index"): 200,
            settings_of: 403,
            reverse("calls:join", args=[a.call.pk]): 403,
            reverse("epos_chats:create_custom"): 403,
        },
    }


@pytest.mark.parametrize("role", ["admin", "teacher", "outsider", "student", "guardian"])
def test_each_role_gets_what_its_rights_say(client, world, role):
    client.force_login(getattr(world, role).person)
    got = {url: client.get(url).status_code for url in _expect(world)[role]}
    assert got == _expect(world)[role]

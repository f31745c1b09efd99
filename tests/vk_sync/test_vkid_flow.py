"""F9 end to end: «Привязать учебный профиль VK ID» → the emulator's VK ID (OAuth 2.1 + PKCE)
→ back to «Чаты» with the link stored and pushed at once."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from epos_chats.services import rebuild_mandatory_chats
from tests import factories
from vk_sync.models import RemoteLink, VkIdAttempt, VkLink
from vk_sync.reconcile import push_organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def vk(emulator, settings):
    settings.VK_API_BASE_URL = emulator.url
    settings.VK_API_TOKEN = "test-token"
    settings.VK_API_RATE_LIMIT = 1000
    settings.VK_ID_AUTHORIZE_URL = f"{emulator.url}/emulator/authorize"
    settings.VK_ID_TOKEN_URL = f"{emulator.url}/emulator/token"
    settings.VK_SYNC_ENABLED = True
    return emulator


@pytest.fixture
def teacher():
    org = factories.OrganizationFactory()
    staff = factories.StaffMemberFactory(organization=org, person__login="kivanov")
    group = factories.GroupFactory(organization=org, curators=[staff])
    factories.StudentFactory(organization=org, group=group)
    rebuild_mandatory_chats(org)
    return staff


def authorize(client, vk, *, decision="allow", vk_user_id="424242"):
    """Press «Привязать», then the emulator's «Разрешить»/«Отказать»; returns our callback URL."""
    start = client.get(reverse("vk_sync:link"))
    assert start.status_code == 302 and start.url.startswith(vk.url)
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.url).query).items()}
    answer = httpx.post(
        f"{vk.url}/emulator/authorize",
        data=query | {"decision": decision, "vk_user_id": vk_user_id},
        follow_redirects=False,
    )
    assert answer.status_code in (302, 303)
    back = urlsplit(answer.headers["location"])
    assert back.path == reverse("vk_sync:callback")
    return f"{back.path}?{back.query}"


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_linking_through_vk_id_stores_the_link_and_returns_to_chats(client, vk, teacher):
    client.force_login(teacher.person)
    response = client.get(authorize(client, vk))
    assert response.status_code == 302 and response.url == reverse("epos_chats:index")
    assert VkLink.objects.get(person=teacher.person).vk_user_id == 424242
    assert "привязан" in messages_of(response)[0]


def test_the_link_is_pushed_at_once_and_the_person_joins_their_messenger_chats(
    client, vk, teacher, django_capture_on_commit_callbacks
):
    push_organization(teacher.organization)  # the chats are in the messenger, without them
    client.force_login(teacher.person)
    callback = authorize(client, vk)
    with django_capture_on_commit_callbacks(execute=True) as pushes:
        client.get(callback)
    assert len(pushes) == 1
    state = vk.state()
    external = f"person-{teacher.person.pk}"  # opaque: the login never leaves the journal
    assert {"external_user_id": external, "vk_user_id": 424242} in state["links"]
    rooms = [
        chat
        for chat in state["chats"]
        if {"vk_user_id": 424242, "role": "admin"} in chat["members"]
    ]
    assert len(rooms) == 2  # «Группа» and «Родители», as their curator
    assert RemoteLink.objects.filter(person=teacher.person, vk_user_id=424242).exists()


def test_a_refusal_at_vk_id_links_nothing_and_says_so(client, vk, teacher):
    client.force_login(teacher.person)
    response = client.get(authorize(client, vk, decision="deny"))
    assert not VkLink.objects.exists()
    assert "отменена" in messages_of(response)[0]


def test_a_replayed_callback_links_nothing_more(client, vk, teacher):
    client.force_login(teacher.person)
    callback = authorize(client, vk)
    client.get(callback)
    VkLink.objects.all().delete()
    response = client.get(callback)
    assert not VkLink.objects.exists()
    assert "устарела или уже использована" in messages_of(response)[-1]


def test_a_callback_with_a_forged_state_links_nothing(client, vk, teacher):
    client.force_login(teacher.person)
    response = client.get(reverse("vk_sync:callback"), {"code": "x", "state": "forged"})
    assert not VkLink.objects.exists() and response.status_code == 302
    assert "устарела" in messages_of(response)[0]


def test_someone_elses_callback_links_nothing(client, vk, teacher):
    client.force_login(teacher.person)
    callback = authorize(client, vk)
    other = factories.StaffMemberFactory(organization=teacher.organization)
    client.force_login(other.person)
    client.get(callback)
    assert not VkLink.objects.exists()


def test_an_expired_attempt_links_nothing(client, vk, teacher):
    import datetime as dt

    from django.utils import timezone

    client.force_login(teacher.person)
    callback = authorize(client, vk)
    VkIdAttempt.objects.update(created_at=timezone.now() - dt.timedelta(minutes=11))
    client.get(callback)
    assert not VkLink.objects.exists()


def test_vk_id_being_down_is_a_clear_message(client, vk, teacher, settings):
    client.force_login(teacher.person)
    callback = authorize(client, vk)
    settings.VK_ID_TOKEN_URL = "http://127.0.0.1:9/emulator/token"  # nothing listens there
    response = client.get(callback)
    assert not VkLink.objects.exists()
    assert "недоступен" in messages_of(response)[0]


def test_a_vk_account_already_linked_to_someone_else_is_refused(client, vk, teacher):
    factories.VkLinkFactory(vk_user_id=424242)
    client.force_login(teacher.person)
    response = client.get(authorize(client, vk))
    assert not VkLink.objects.filter(person=teacher.person).exists()
    assert "уже привязан к другому" in messages_of(response)[0]

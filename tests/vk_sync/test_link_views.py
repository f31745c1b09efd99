"""«Привязать / Отвязать учебный профиль VK ID» (F5, F9): linking starts VK ID authorization,
unlinking asks first, and one VK account never serves two people. The whole round trip through
the emulator's VK ID is in test_vkid_flow.py."""

import threading

import pytest
from django.contrib.messages import get_messages
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from epos_chats.models import AuditEvent
from tests import factories
from vk_sync.models import VkLink
from vk_sync.services import (
    VkAccountTaken,
    VkLinkError,
    bulk_link_demo_profiles,
    link_vk_profile,
    unlink_vk_profile,
)
from vk_sync.views import chats_url

pytestmark = pytest.mark.django_db

LINK = reverse("vk_sync:link")
UNLINK = reverse("vk_sync:unlink")


@pytest.fixture
def teacher():
    org = factories.OrganizationFactory()
    staff = factories.StaffMemberFactory(
        organization=org,
        person=factories.PersonFactory(
            login="kivanov", last_name="Иванов", first_name="Кирилл", middle_name="Андреевич"
        ),
    )
    return staff.person


@pytest.fixture
def signed_in(client, teacher):
    client.force_login(teacher)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# Sign-in first


@pytest.mark.parametrize(("method", "url"), [("get", LINK), ("get", UNLINK), ("post", UNLINK)])
def test_the_link_pages_ask_an_anonymous_visitor_to_sign_in(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_an_anonymous_post_unlinks_nobody(client, teacher):
    factories.VkLinkFactory(person=teacher)
    client.post(UNLINK)
    assert VkLink.objects.filter(person=teacher).exists()


# «Привязать учебный профиль VK ID»


def test_the_link_button_sends_the_person_to_vk_id_with_state_and_pkce(
    signed_in, teacher, settings
):
    from urllib.parse import parse_qs, urlsplit

    from vk_sync.models import VkIdAttempt

    settings.VK_ID_AUTHORIZE_URL = "https://id.vk.test/authorize"
    response = signed_in.get(LINK)

    assert response.status_code == 302
    url = urlsplit(response.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://id.vk.test/authorize"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    attempt = VkIdAttempt.objects.get(person=teacher)
    assert query["state"] == attempt.state and query["code_challenge_method"] == "S256"
    assert query["response_type"] == "code" and query["client_id"] == settings.VK_ID_CLIENT_ID
    assert query["redirect_uri"].endswith(reverse("vk_sync:callback"))
    assert attempt.code_verifier not in response.url  # the verifier never leaves the server


def test_the_link_page_of_a_linked_person_returns_to_chats(signed_in, teacher):
    factories.VkLinkFactory(person=teacher)

    response = signed_in.get(LINK)

    assert response.status_code == 302
    assert response.url == chats_url()
    assert messages_of(response) == ["Учебный профиль VK ID уже привязан."]


def test_the_link_page_accepts_no_post(signed_in):
    assert signed_in.post(LINK).status_code == 405


def test_chats_url_is_the_chats_page():
    assert chats_url() == "/chats/"


# «Отвязать учебный профиль VK ID»


def test_unlinking_asks_for_confirmation_first(signed_in, teacher):
    factories.VkLinkFactory(person=teacher, vk_user_id=424242)

    response = signed_in.get(UNLINK)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Отвязать учебный профиль VK ID?" in page
    assert "424242" in page
    assert "Да, отвязать" in page and "Отменить" in page
    assert f'href="{chats_url()}"' in page
    assert VkLink.objects.filter(person=teacher).exists()


def test_confirming_removes_the_link_and_returns_to_chats(signed_in, teacher):
    factories.VkLinkFactory(person=teacher, vk_user_id=424242)

    response = signed_in.post(UNLINK)

    assert response.status_code == 302
    assert response.url == chats_url()
    assert not VkLink.objects.filter(person=teacher).exists()
    (message,) = messages_of(response)
    assert message.startswith("Учебный профиль VK ID отвязан.")
    event = AuditEvent.objects.get(action=AuditEvent.Action.VK_UNLINKED)
    assert (event.actor, event.before) == (teacher, {"vk_user_id": 424242})


def test_unlinking_when_not_linked_says_so(signed_in, teacher):
    response = signed_in.post(UNLINK)

    assert response.status_code == 302
    assert response.url == chats_url()
    assert messages_of(response) == ["Учебный профиль VK ID не был привязан: отвязывать нечего."]
    assert not AuditEvent.objects.exists()


def test_the_confirmation_of_a_person_not_linked_returns_to_chats(signed_in):
    response = signed_in.get(UNLINK)
    assert response.status_code == 302
    assert messages_of(response) == ["Учебный профиль VK ID не привязан."]


def test_unlinking_needs_the_forms_csrf_token(teacher):
    factories.VkLinkFactory(person=teacher)
    client = Client(enforce_csrf_checks=True)
    client.force_login(teacher)

    assert client.post(UNLINK).status_code == 403
    assert VkLink.objects.filter(person=teacher).exists()


def test_unlinking_touches_only_ones_own_link(signed_in, teacher):
    other = factories.VkLinkFactory()
    factories.VkLinkFactory(person=teacher)
    signed_in.post(UNLINK)
    assert VkLink.objects.filter(pk=other.pk).exists()


# The services


def test_linking_stores_the_vk_user_id_and_records_who_did_it(teacher):
    link = link_vk_profile(teacher, 1001, actor=teacher)

    assert (link.person, link.vk_user_id) == (teacher, 1001)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.after) == ("vk_linked", teacher, {"vk_user_id": 1001})


def test_linking_again_to_the_same_account_changes_nothing(teacher):
    first = link_vk_profile(teacher, 1001)
    again = link_vk_profile(teacher, 1001)

    assert (again.pk, again.linked_at) == (first.pk, first.linked_at)
    assert AuditEvent.objects.count() == 1


def test_relinking_a_person_to_another_account_replaces_their_link(teacher):
    link_vk_profile(teacher, 1001)
    link = link_vk_profile(teacher, 2002)

    assert list(VkLink.objects.values_list("person", "vk_user_id")) == [(teacher.pk, 2002)]
    assert link.vk_user_id == 2002
    assert AuditEvent.objects.order_by("pk").last().before == {"vk_user_id": 1001}


def test_one_vk_account_cannot_be_linked_to_two_people(teacher):
    link_vk_profile(teacher, 1001)
    other = factories.PersonFactory()

    with pytest.raises(VkAccountTaken, match="Этот аккаунт VK уже привязан к другому пользователю"):
        link_vk_profile(other, 1001)

    assert list(VkLink.objects.values_list("person", "vk_user_id")) == [(teacher.pk, 1001)]


def test_a_person_cannot_move_onto_an_account_someone_else_holds(teacher):
    link_vk_profile(teacher, 1001)
    other = factories.PersonFactory()
    link_vk_profile(other, 2002)

    with pytest.raises(VkAccountTaken):
        link_vk_profile(other, 1001)

    assert VkLink.objects.get(person=other).vk_user_id == 2002


def test_a_refused_link_leaves_the_callers_transaction_usable(teacher):
    link_vk_profile(teacher, 1001)
    other = factories.PersonFactory()
    with transaction.atomic():
        with pytest.raises(VkLinkError):
            link_vk_profile(other, 1001)
        assert VkLink.objects.count() == 1  # on PostgreSQL an aborted transaction would raise


@pytest.mark.parametrize("vk_user_id", [0, -5, True, "123", 1.5, None, 2**63])
def test_a_vk_user_id_must_be_a_positive_integer(teacher, vk_user_id):
    with pytest.raises(VkLinkError, match="целым положительным числом"):
        link_vk_profile(teacher, vk_user_id)
    assert not VkLink.objects.exists()


def test_unlinking_reports_whether_there_was_a_link(teacher):
    assert unlink_vk_profile(teacher) is False
    link_vk_profile(teacher, 1001)
    assert unlink_vk_profile(teacher) is True
    assert not VkLink.objects.exists()


def test_the_demo_bulk_link_numbers_the_accounts_and_skips_what_is_taken(teacher):
    people = [factories.PersonFactory() for _ in range(3)]
    link_vk_profile(people[1], 5)  # already linked: kept as it is
    link_vk_profile(teacher, 12)  # holds the id the third person would get

    added = bulk_link_demo_profiles([p.pk for p in people], first_vk_id=10)

    assert added == 1
    assert dict(VkLink.objects.values_list("person", "vk_user_id")) == {
        people[0].pk: 10,
        people[1].pk: 5,
        teacher.pk: 12,
    }
    assert bulk_link_demo_profiles([p.pk for p in people], first_vk_id=10) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_racing_for_one_account_cannot_both_win():
    people = [factories.PersonFactory() for _ in range(2)]
    start = threading.Barrier(2)
    outcomes = []

    def link(person):
        start.wait()
        try:
            link_vk_profile(person, 31337)
            outcomes.append("linked")
        except VkAccountTaken:
            outcomes.append("taken")
        finally:
            connection.close()

    threads = [threading.Thread(target=link, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["linked", "taken"]
    assert VkLink.objects.filter(vk_user_id=31337).count() == 1

"""F26: a chat's live published call on its card on «Чаты» — icon, name, date and time — for the
chat's members and the OO admin, leading to the call's page; the page itself, who may open it,
and the link that is inactive without a VK ID link."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls import selectors
from calls.models import OnlineCall
from epos_chats import selectors as chat_selectors
from tests import factories
from tests.calls.helpers import NOW, act, create, person_of, roles

pytestmark = pytest.mark.django_db

CHATS = "/chats/"


def text(response):
    return " ".join(response.content.decode().split())


def linked(role):
    factories.VkLinkFactory(person=person_of(role))
    return person_of(role)


def card(html, chat):
    """The chat's card on «Чаты»."""
    return html.split(f'id="chat-{chat.pk}"', 1)[1].split("</li>", 1)[0]


def chats_page(client, role):
    client.force_login(linked(role))
    response = client.get(CHATS)
    assert response.status_code == 200
    return " ".join(response.text.split())


def published(college, title="Классный час", chat=None):
    return act("publish", create(college, chat=chat, title=title), college.admin)


# The card --------------------------------------------------------------------------------------


def test_a_member_sees_the_published_call_on_the_chats_card(client, college):
    call = published(college)
    html = card(chats_page(client, college.student), college.custom_chat)
    assert "Классный час" in html
    assert (
        '<time class="card-call__when" datetime="2026-03-11T12:00:00+03:00">'
        "11.03.2026 в 12:00</time>" in html
    )
    assert f'href="/calls/{call.pk}/join/"' in html


def test_the_oo_admin_sees_the_call_on_a_chat_he_is_not_in(client, college):
    published(college, chat=college.group_chat)
    html = card(chats_page(client, college.admin), college.group_chat)
    assert "Классный час" in html


def test_a_call_not_yet_published_is_not_on_the_card(client, college):
    create(college, title="Черновик")
    assert "Черновик" not in chats_page(client, college.student)


def test_a_finished_call_leaves_the_card(client, college):
    call = published(college)
    act("finish", call, college.admin)
    html = card(chats_page(client, college.student), college.custom_chat)
    assert "Классный час" not in html
    assert "/join/" not in html


def test_a_deleted_call_leaves_the_card(client, college):
    act("delete", published(college), college.admin)
    assert "Классный час" not in chats_page(client, college.student)


def test_only_the_chat_with_the_call_shows_it(client, college):
    published(college)
    html = chats_page(client, college.student)
    assert "Классный час" in card(html, college.custom_chat)
    assert "Классный час" not in card(html, college.group_chat)


def test_the_chats_name_still_leads_to_the_messenger(client, college, settings):
    published(college)
    html = card(chats_page(client, college.student), college.custom_chat)
    assert (
        f'<a class="chat-card__title" href="{settings.VK_MESSENGER_WEB_URL}" target="_blank"'
        in html
    )


def test_the_active_call_filter_keeps_the_chats_with_a_published_call(client, college):
    published(college)
    create(college, chat=college.group_chat)
    client.force_login(linked(college.student))
    page = client.get(CHATS, {"call": "1"}).context["page"]
    assert [chat.title for chat in page] == ["Кружок КПТ"]


def test_the_chat_page_selector_gives_the_call_in_the_chats_own_query(college):
    call = published(college)
    page = chat_selectors.chat_page(
        person_of(college.student),
        college.org,
        roles(college.student, college.org),
        chat_selectors.ChatQuery(),
        1,
    )
    by_title = {chat.title: chat for chat in page}
    assert (by_title["Кружок КПТ"].call_id, by_title["Кружок КПТ"].call_title) == (
        call.pk,
        "Классный час",
    )
    assert by_title["Группа ИС-11"].call_id is None


@pytest.mark.parametrize("role", ["admin", "student"])
def test_the_chats_page_costs_the_same_queries_with_or_without_calls(client, college, role):
    client.force_login(linked(getattr(college, role)))
    client.get(CHATS)
    with CaptureQueriesContext(connection) as quiet:
        client.get(CHATS)
    published(college, chat=college.custom_chat)
    published(college, chat=college.group_chat)
    published(college, chat=college.discipline_chat)
    client.get(CHATS)  # the visit that clears the mark of the new calls writes once
    with CaptureQueriesContext(connection) as busy:
        response = client.get(CHATS)
    assert response.text.count('class="chat-card__call card-call"') == 3
    assert len(busy) == len(quiet)


# The call's page (F26) -------------------------------------------------------------------------


def join(client, person, call):
    client.force_login(person)
    return client.get(reverse("calls:join", args=[call.pk]))


def test_a_linked_member_sees_the_call_and_learns_when_its_link_comes(client, college):
    call = published(college)
    response = join(client, linked(college.student), call)
    html = text(response)
    assert response.status_code == 200
    assert '<h1 id="call-join-title" class="call-join__title">Классный час</h1>' in html
    assert "<dt>Чат</dt><dd>Кружок КПТ</dd>" in html
    assert "11.03.2026, среда" in html and "12:00" in html
    assert '<span class="call-status call-status--published">Опубликован</span>' in html
    assert "Ссылка на звонок появится после передачи звонка в VK Мессенджер" in html
    assert "disabled>" in html


def test_with_the_messengers_link_the_page_leads_into_the_call(client, college, monkeypatch):
    call = published(college)
    monkeypatch.setattr(selectors, "join_link", lambda call: "https://web.vk.me/call/abc")
    html = text(join(client, linked(college.student), call))
    assert (
        '<a class="btn btn--primary btn--large" href="https://web.vk.me/call/abc" target="_blank"'
        in html
    )
    assert "Ссылка на звонок появится" not in html


def test_without_a_vk_id_link_the_link_is_inactive_and_asks_to_link(client, college, monkeypatch):
    call = published(college)
    monkeypatch.setattr(selectors, "join_link", lambda call: "https://web.vk.me/call/abc")
    html = text(join(client, person_of(college.student), call))
    assert "https://web.vk.me/call/abc" not in html
    assert "Привяжите учебный профиль VK ID" in html
    assert f'href="{reverse("vk_sync:link")}"' in html
    assert "disabled>" in html


def test_the_oo_admin_opens_the_call_of_a_chat_he_is_not_in(client, college):
    call = published(college, chat=college.group_chat)
    assert join(client, linked(college.admin), call).status_code == 200


def test_a_non_member_of_the_college_may_not_open_the_call(client, college):
    call = published(college)
    assert join(client, linked(college.outsider), call).status_code == 403


def test_the_call_of_another_college_is_not_found(client, college):
    call = act(
        "publish",
        create(college, chat=college.other_chat, by=college.other_admin),
        college.other_admin,
    )
    assert join(client, linked(college.admin), call).status_code == 404


def test_a_call_not_yet_published_is_not_found_by_members(client, college):
    call = create(college)
    assert join(client, linked(college.student), call).status_code == 404


def test_a_call_not_yet_published_is_shown_to_those_who_manage_it(client, college):
    call = create(college)
    html = text(join(client, linked(college.curator), call))
    assert "Звонок ещё не опубликован" in html
    assert "Онлайн-звонки чата" in html


def test_a_finished_call_can_no_longer_be_joined(client, college, monkeypatch):
    call = act("finish", published(college), college.admin)
    monkeypatch.setattr(selectors, "join_link", lambda call: "https://web.vk.me/call/abc")
    html = text(join(client, linked(college.student), call))
    assert "Онлайн-звонок завершён: перейти к нему больше нельзя." in html
    assert "https://web.vk.me/call/abc" not in html


def test_a_deleted_call_is_not_found(client, college):
    call = act("delete", published(college), college.admin)
    assert join(client, linked(college.student), call).status_code == 404


def test_a_call_of_a_deleted_chat_is_not_found(client, college):
    call = published(college)
    college.custom_chat.deleted_at = NOW
    college.custom_chat.save()
    assert join(client, linked(college.admin), call).status_code == 404


def test_the_messenger_has_no_link_for_a_call_it_was_not_given(college):
    call = published(college)
    assert selectors.join_link(call) == ""
    assert selectors.join_link(create(college, chat=college.group_chat)) == ""


def test_the_join_page_costs_a_fixed_number_of_queries(client, college):
    call = published(college)
    person = linked(college.student)
    join(client, person, call)
    with CaptureQueriesContext(connection) as first:
        join(client, person, call)
    for _ in range(5):
        factories.ChatMemberFactory(chat=college.custom_chat)
    OnlineCall.objects.filter(pk=call.pk).update(starts_at=NOW + dt.timedelta(hours=1))
    with CaptureQueriesContext(connection) as second:
        join(client, person, call)
    assert len(second) == len(first)

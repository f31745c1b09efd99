"""ЭПОС conversations (F30), the pages: the conversation, sending, polling, older messages,
the «ЭПОС» block, the menu's unread total, hiding by date, access by outsiders."""

import datetime as dt
import re
import uuid

import pytest
from django.core.cache import cache
from django.urls import reverse

from directory.selectors import roles_of
from epos_chats import messaging
from epos_chats.messaging_views import poll_token
from epos_chats.models import Chat, Message
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def college():
    org = factories.OrganizationFactory(short_name="КС")
    group = factories.GroupFactory(organization=org, name="ИС-21")
    curator = factories.StaffMemberFactory(organization=org)
    group.curators.set([curator])
    student = factories.StudentFactory(organization=org, group=group)
    parent = factories.GuardianFactory(organization=org, children=[student])
    outsider = factories.StaffMemberFactory(organization=org, is_admin=True)
    return {
        "org": org,
        "curator": curator.person,
        "parent": parent.person,
        "student": student.person,
        "outsider": outsider.person,
    }


@pytest.fixture
def chat(college):
    return messaging.start_direct(
        actor=college["parent"],
        roles=roles_of(college["parent"], college["org"]),
        organization=college["org"],
        other=college["curator"],
    ).chat


def url(name, chat):
    return reverse(f"epos_chats:{name}", args=[chat.pk])


def say(chat, person, text):
    return messaging.send_message(actor=person, chat=chat, text=text).message


def test_a_parent_writes_to_a_curator_from_the_new_chat_page(client, college):
    client.force_login(college["parent"])
    page = client.get(reverse("epos_chats:epos_create"))
    assert college["curator"].full_name in page.content.decode()
    # Students and parents are offered staff only.
    assert college["student"].full_name not in page.content.decode()
    response = client.post(
        reverse("epos_chats:epos_create"), {"action": "direct", "person": college["curator"].pk}
    )
    chat = Chat.objects.get(platform="epos")
    assert response.url == url("conversation", chat)


def test_a_parent_cannot_write_to_a_student_even_by_a_crafted_form(client, college):
    client.force_login(college["parent"])
    response = client.post(
        reverse("epos_chats:epos_create"), {"action": "direct", "person": college["student"].pk}
    )
    assert response.status_code == 400
    assert "сотрудникам, преподавателям и администрации" in response.content.decode()
    assert not Chat.objects.filter(platform="epos").exists()


def test_a_curator_creates_a_group_conversation(client, college):
    client.force_login(college["curator"])
    response = client.post(
        reverse("epos_chats:epos_create"),
        {
            "action": "group",
            "title": "Собрание ИС-21",
            "member": [college["parent"].pk, college["student"].pk],
            "request_key": str(uuid.uuid4()),
        },
    )
    chat = Chat.objects.get(title="Собрание ИС-21")
    assert response.url == url("conversation", chat)
    assert chat.members.count() == 3


def test_outsiders_get_404_everywhere(client, college, chat):
    say(chat, college["parent"], "Секрет")
    client.force_login(college["outsider"])
    token = poll_token(chat.pk, college["outsider"].pk)
    for response in (
        client.get(url("conversation", chat)),
        client.post(url("conversation", chat), {"text": "Я тут"}),
        client.get(url("messages_older", chat), {"before": 10**9}),
        client.get(url("messages_poll", chat), {"after": 0, "t": token}),
        client.get(url("messages_poll", chat), {"after": 0, "t": "forged"}),
        client.post(url("conversation_leave", chat)),
        client.get(url("conversation_add", chat)),
    ):
        assert response.status_code == 404
    assert Message.objects.count() == 1


def test_text_is_escaped_and_links_are_clickable_safely(client, college, chat):
    say(chat, college["parent"], '<script>alert("x")</script> см. https://example.org/a?b=1')
    client.force_login(college["curator"])
    html = client.get(url("conversation", chat)).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert (
        '<a target="_blank" rel="nofollow noopener" href="https://example.org/a?b=1">'
        "https://example.org/a?b=1</a>"
    ) in html


def test_sending_by_htmx_answers_with_a_fresh_form_and_triggers_the_poll(client, college, chat):
    client.force_login(college["parent"])
    token = str(uuid.uuid4())
    for _ in range(2):  # a double click
        response = client.post(
            url("conversation", chat),
            {"text": "  Добрый день  ", "client_token": token},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        assert "epos:sent" in response["HX-Trigger"]
    assert list(Message.objects.values_list("text", flat=True)) == ["Добрый день"]


@pytest.mark.parametrize(
    ("text", "error"),
    [("   ", "Введите текст сообщения."), ("я" * 4001, "не длиннее 4000 символов")],
)
def test_empty_and_over_long_messages_are_refused_with_a_message(
    client, college, chat, text, error
):
    client.force_login(college["parent"])
    response = client.post(
        url("conversation", chat), {"text": text}, headers={"HX-Request": "true"}
    )
    assert error in response.content.decode()
    assert "HX-Trigger" not in response
    assert not Message.objects.exists()


def test_the_rate_limit_is_explained(client, college, chat):
    client.force_login(college["parent"])
    for n in range(messaging.RATE_LIMIT):
        client.post(url("conversation", chat), {"text": f"№{n}"}, headers={"HX-Request": "true"})
    response = client.post(
        url("conversation", chat), {"text": "ещё"}, headers={"HX-Request": "true"}
    )
    assert "Слишком много сообщений подряд: не больше 20 в минуту" in response.content.decode()
    assert Message.objects.count() == messaging.RATE_LIMIT


def test_the_page_shows_the_latest_30_and_loads_older_by_id(client, college, chat):
    sent = [
        Message.objects.create(chat=chat, author=college["parent"], text=f"сообщение {n}")
        for n in range(35)
    ]
    client.force_login(college["curator"])
    html = client.get(url("conversation", chat)).content.decode()
    assert "сообщение 34" in html and "сообщение 5<" in html and "сообщение 4<" not in html
    assert "Показать более ранние" in html
    older = client.get(url("messages_older", chat), {"before": sent[5].pk}).content.decode()
    assert re.findall(r"сообщение (\d+)<", older) == ["0", "1", "2", "3", "4"]
    assert "Показать более ранние" not in older


def test_the_poll_when_nothing_changed_costs_no_query_beyond_the_request(
    client, college, chat, django_assert_max_num_queries
):
    last = say(chat, college["parent"], "Здравствуйте")
    client.force_login(college["curator"])
    client.get(url("conversation", chat))
    params = {"after": last.pk, "t": poll_token(chat.pk, college["curator"].pk)}
    client.get(url("messages_poll", chat), params)  # the cache learns the last id
    # Session, user and the current organization (the middleware): nothing else.
    with django_assert_max_num_queries(3):
        response = client.get(url("messages_poll", chat), params)
    assert response.status_code == 204


def test_a_cold_poll_costs_one_indexed_query_more(
    client, college, chat, django_assert_max_num_queries
):
    last = say(chat, college["parent"], "Здравствуйте")
    client.force_login(college["curator"])
    client.get(url("conversation", chat))  # the session settles on its college
    cache.clear()
    params = {"after": last.pk, "t": poll_token(chat.pk, college["curator"].pk)}
    with django_assert_max_num_queries(4):
        assert client.get(url("messages_poll", chat), params).status_code == 204


def test_the_poll_brings_new_messages_and_marks_them_read(client, college, chat):
    first = say(chat, college["parent"], "Первое")
    client.force_login(college["curator"])
    client.get(url("conversation", chat))
    params = {"after": first.pk, "t": poll_token(chat.pk, college["curator"].pk)}
    say(chat, college["parent"], "Второе")
    response = client.get(url("messages_poll", chat), params)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Второе" in html and "Первое" not in html
    assert 'id="poller"' in html and "hx-swap-oob" in html
    assert messaging_unread(college["curator"], college["org"]) == 0


def messaging_unread(person, org):
    from epos_chats.messaging_selectors import unread_total

    return unread_total(person, org)


def test_the_menu_and_the_block_show_unread_counts_and_reading_clears_them(client, college, chat):
    say(chat, college["parent"], "Вопрос")
    say(chat, college["parent"], "Ещё вопрос")
    client.force_login(college["curator"])
    html = client.get(reverse("epos_chats:index")).content.decode()
    assert 'aria-label="Непрочитанных сообщений ЭПОС: 2"' in html
    assert 'aria-label="Непрочитанных: 2"' in html
    client.get(url("conversation", chat))
    html = client.get(reverse("epos_chats:index")).content.decode()
    assert "Непрочитанных" not in html


def test_the_desktop_widget_shows_the_latest_conversations(client, college, chat):
    say(chat, college["parent"], "Вопрос")
    client.force_login(college["curator"])
    html = client.get(reverse("desktop")).content.decode()
    assert url("conversation", chat) in html
    assert college["parent"].short_name in html
    assert "Показать еще сообщения" in html


def test_leaving_a_group_conversation(client, college):
    chat = messaging.start_group(
        actor=college["curator"],
        roles=roles_of(college["curator"], college["org"]),
        organization=college["org"],
        title="Собрание",
        members=[college["parent"].pk],
    ).chat
    client.force_login(college["parent"])
    response = client.post(url("conversation_leave", chat))
    assert response.url == reverse("epos_chats:conversations")
    assert client.get(url("conversation", chat)).status_code == 404


def test_only_the_creator_opens_adding_people(client, college):
    chat = messaging.start_group(
        actor=college["curator"],
        roles=roles_of(college["curator"], college["org"]),
        organization=college["org"],
        title="Собрание",
        members=[college["parent"].pk],
    ).chat
    client.force_login(college["parent"])
    assert client.get(url("conversation_add", chat)).status_code == 404
    client.force_login(college["curator"])
    assert client.get(url("conversation_add", chat)).status_code == 200
    response = client.post(url("conversation_add", chat), {"member": [college["student"].pk]})
    assert response.status_code == 302
    assert chat.members.filter(person=college["student"]).exists()


def test_hidden_by_date_the_block_and_the_choice_go_but_the_conversation_stays_readable(
    client, college, chat, settings, time_machine
):
    say(chat, college["parent"], "Сохранится")
    factories.VkLinkFactory(person=college["curator"])
    settings.EPOS_CHATS_HIDDEN_FROM = dt.date(2026, 10, 1)
    time_machine.move_to(dt.datetime(2026, 10, 2, 12, tzinfo=dt.UTC))
    client.force_login(college["curator"])
    index = client.get(reverse("epos_chats:index")).content.decode()
    assert 'id="epos-block"' not in index
    assert "Мои сообщения ЭПОС" in index  # the profile's link stays
    dialog = client.get(reverse("epos_chats:create")).content.decode()
    assert 'value="epos"' not in dialog
    assert client.get(reverse("epos_chats:epos_create")).status_code == 302
    listing = client.get(reverse("epos_chats:conversations")).content.decode()
    assert url("conversation", chat) in listing
    page = client.get(url("conversation", chat)).content.decode()
    assert "Сохранится" in page
    assert "только для чтения" in page
    assert 'name="text"' not in page


def test_before_the_date_the_new_chat_dialog_offers_epos(client, college):
    factories.VkLinkFactory(person=college["curator"])
    teaching = factories.TeachingFactory(organization=college["org"])
    teaching.teachers.set([college["curator"].staff_roles.get()])
    client.force_login(college["curator"])
    dialog = client.get(reverse("epos_chats:create")).content.decode()
    assert 'value="epos"' in dialog

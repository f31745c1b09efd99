"""F19–F25 through HTTP: the «Онлайн-звонки» list on a chat's settings page, who may create,
edit, publish, finish and delete calls (and that a refusal changes nothing), the seed's
confirmations and messages, the dialogs, and the list's constant cost."""

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls import services
from calls import views as call_views
from calls.models import OnlineCall
from epos_chats.models import AuditEvent
from tests import factories
from tests.calls.helpers import NOW, TOMORROW, act, create, person_of

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def settings_url(chat):
    return reverse("epos_chats:settings", args=[chat.pk])


def signed_in(client, role):
    client.force_login(person_of(role))
    return client


def text(response):
    return " ".join(response.content.decode().split())


def form_data(college, chat, **fields):
    """What «Сохранить» sends for a call tomorrow: at the lesson in a «Дисциплина» chat, at
    12:00 elsewhere."""
    data = {"title": "Классный час", "date": TOMORROW.isoformat()}
    if chat.kind == "discipline":
        data["lesson"] = college.lesson_tomorrow.pk
    else:
        data["time"] = "12:00"
    data.update(fields)
    return data


def snapshot(call):
    call.refresh_from_db()
    return (call.title, call.starts_at, call.status, call.last_actor_id, call.deleted_at)


# Who may act: an OO admin on every chat of the college (a mandatory one too, even outside it),
# a chat admin on the chats he administers (mandatory ones too); everyone else 403, another
# college's people and calls 404.
ALLOWED = [
    pytest.param("admin", "group_chat", id="oo_admin-mandatory_chat_he_is_not_in"),
    pytest.param("admin", "custom_chat", id="oo_admin-custom_chat"),
    pytest.param("curator", "group_chat", id="chat_admin-own_mandatory_chat"),
    pytest.param("teacher", "discipline_chat", id="chat_admin-own_discipline_chat"),
]
REFUSED = [
    pytest.param("student", "custom_chat", 403, id="plain_member"),
    pytest.param("curator", "teachers_chat", 403, id="chat_admin_elsewhere_plain_member_here"),
    pytest.param("outsider", "custom_chat", 403, id="non_member"),
    pytest.param("other_admin", "custom_chat", 404, id="oo_admin_of_another_college"),
]


@pytest.mark.parametrize(("who", "chat_name"), ALLOWED)
def test_those_who_may_manage_calls_create_one_through_the_form(client, college, who, chat_name):
    chat = getattr(college, chat_name)
    response = signed_in(client, getattr(college, who)).post(
        reverse("calls:create", args=[chat.pk]), form_data(college, chat)
    )
    assert response.status_code == 302
    assert response["Location"] == settings_url(chat) + "#chat-calls"
    call = OnlineCall.objects.get(chat=chat)
    assert (call.status, call.last_actor) == ("created", person_of(getattr(college, who)))


@pytest.mark.parametrize(("who", "chat_name", "status"), REFUSED)
def test_everyone_else_is_refused_the_form_and_nothing_is_created(
    client, college, who, chat_name, status
):
    chat = getattr(college, chat_name)
    signed_in(client, getattr(college, who))
    url = reverse("calls:create", args=[chat.pk])
    assert client.get(url).status_code == status
    assert client.post(url, form_data(college, chat)).status_code == status
    assert client.get(url, headers=HTMX).status_code == status
    assert not OnlineCall.objects.exists()


@pytest.mark.parametrize(("who", "chat_name"), ALLOWED)
@pytest.mark.parametrize("action", ["publish", "delete"])
def test_those_who_may_manage_calls_publish_and_delete_them(
    client, college, who, chat_name, action
):
    call = create(college, chat=getattr(college, chat_name))
    response = signed_in(client, getattr(college, who)).post(
        reverse(f"calls:{action}", args=[call.pk])
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.last_actor == person_of(getattr(college, who))
    if action == "publish":
        assert call.status == "published"
    else:
        assert call.deleted_at == NOW


@pytest.mark.parametrize(("who", "chat_name"), ALLOWED)
def test_those_who_may_manage_calls_edit_and_finish_them(client, college, who, chat_name):
    chat = getattr(college, chat_name)
    call = create(college, chat=chat)
    signed_in(client, getattr(college, who))
    response = client.post(
        reverse("calls:edit", args=[call.pk]), form_data(college, chat, title="Перенесённый")
    )
    assert response.status_code == 302
    assert OnlineCall.objects.get(pk=call.pk).title == "Перенесённый"

    act("publish", call, college.admin)
    assert client.post(reverse("calls:finish", args=[call.pk])).status_code == 302
    assert OnlineCall.objects.get(pk=call.pk).status == "finished"


@pytest.mark.parametrize(("who", "chat_name", "status"), REFUSED)
@pytest.mark.parametrize("action", ["edit", "publish", "finish", "delete"])
def test_everyone_else_is_refused_every_action_and_nothing_changes(
    client, college, who, chat_name, status, action
):
    chat = getattr(college, chat_name)
    call = create(college, chat=chat)
    if action == "finish":
        act("publish", call, college.admin)
    before, events = snapshot(call), AuditEvent.objects.count()
    signed_in(client, getattr(college, who))
    url = reverse(f"calls:{action}", args=[call.pk])

    assert client.get(url).status_code == status
    assert client.get(url, headers=HTMX).status_code == status
    assert client.post(url, form_data(college, chat, title="Чужое")).status_code == status
    assert client.post(url, headers=HTMX).status_code == status

    assert snapshot(call) == before
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("action", ["edit", "publish", "finish", "delete"])
def test_a_call_of_another_college_is_not_found_even_by_an_oo_admin(client, college, action):
    call = create(college, chat=college.other_chat, by=college.other_admin)
    before = snapshot(call)
    signed_in(client, college.admin)
    url = reverse(f"calls:{action}", args=[call.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert snapshot(call) == before


def test_a_chat_of_another_college_is_not_found(client, college):
    signed_in(client, college.admin)
    assert client.get(reverse("calls:create", args=[college.other_chat.pk])).status_code == 404
    assert client.get(reverse("calls:chat_calls", args=[college.other_chat.pk])).status_code == 404


def test_a_deleted_call_is_not_found(client, college):
    call = act("delete", create(college), college.admin)
    signed_in(client, college.admin)
    for action in ("edit", "publish", "finish", "delete"):
        assert client.post(reverse(f"calls:{action}", args=[call.pk])).status_code == 404


def test_an_epos_conversation_has_no_calls(client, college):
    epos = factories.ChatFactory(organization=college.org, kind="custom", platform="epos")
    factories.ChatMemberFactory(chat=epos, person=person_of(college.admin), is_admin=True)
    signed_in(client, college.admin)
    assert client.get(reverse("calls:create", args=[epos.pk])).status_code == 404
    assert "Онлайн-звонки" not in text(client.get(settings_url(epos)))


def test_an_anonymous_visitor_is_sent_to_sign_in(client, college):
    call = create(college)
    for url in (
        reverse("calls:create", args=[college.custom_chat.pk]),
        reverse("calls:publish", args=[call.pk]),
        reverse("calls:join", args=[call.pk]),
    ):
        response = client.post(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert snapshot(call)[2] == "created"


def test_a_service_refusing_for_rights_answers_403_not_500(client, college, monkeypatch):
    """The view's check passed, but the service (which checks again in its transaction) says
    no: the person gets 403."""
    call = create(college)
    signed_in(client, college.admin)

    def refuse(**kwargs):
        raise PermissionDenied(services.NOT_ALLOWED)

    monkeypatch.setitem(
        call_views.SERVICES, OnlineCall.Action.PUBLISH, (refuse, services.MESSAGE_PUBLISHED)
    )
    monkeypatch.setattr(services, "call_create", refuse)
    assert client.post(reverse("calls:publish", args=[call.pk])).status_code == 403
    response = client.post(
        reverse("calls:create", args=[college.custom_chat.pk]),
        form_data(college, college.custom_chat),
    )
    assert response.status_code == 403
    assert snapshot(call)[2] == "created"
    assert OnlineCall.objects.count() == 1


# Changes only on POST --------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["publish", "finish", "delete"])
def test_opening_a_confirmation_changes_nothing(client, college, action):
    call = create(college)
    if action == "finish":
        act("publish", call, college.admin)
    before = snapshot(call)
    response = signed_in(client, college.admin).get(reverse(f"calls:{action}", args=[call.pk]))
    assert response.status_code == 200
    assert snapshot(call) == before


@pytest.mark.parametrize("action", ["edit", "publish", "finish", "delete", "join"])
def test_other_methods_are_not_allowed(client, college, action):
    call = create(college)
    signed_in(client, college.admin)
    assert client.put(reverse(f"calls:{action}", args=[call.pk])).status_code == 405
    assert client.delete(reverse(f"calls:{action}", args=[call.pk])).status_code == 405


def test_the_join_page_accepts_no_post(client, college):
    call = act("publish", create(college), college.admin)
    signed_in(client, college.admin)
    assert client.post(reverse("calls:join", args=[call.pk])).status_code == 405


# The seed's confirmations and messages (F23–F25) ------------------------------------------------


def test_publishing_asks_da_opublikovat_or_otmenit(client, college):
    call = create(college, title="Классный час")
    html = text(signed_in(client, college.admin).get(reverse("calls:publish", args=[call.pk])))
    assert "Опубликовать онлайн-звонок «Классный час»?" in html
    assert ">Да, опубликовать</button>" in html
    assert ">Отменить</a>" in html


def test_finishing_asks_da_zavershit_or_otmenit(client, college):
    call = act("publish", create(college), college.admin)
    html = text(signed_in(client, college.admin).get(reverse("calls:finish", args=[call.pk])))
    assert ">Да, завершить</button>" in html
    assert ">Отменить</a>" in html


def test_deleting_asks_for_confirmation(client, college):
    call = create(college, title="Классный час")
    html = text(signed_in(client, college.admin).get(reverse("calls:delete", args=[call.pk])))
    assert "Удалить онлайн-звонок «Классный час»?" in html
    assert ">Да, удалить</button>" in html
    assert ">Отменить</a>" in html


def test_a_published_call_says_it_was_published(client, college):
    call = create(college)
    response = signed_in(client, college.admin).post(
        reverse("calls:publish", args=[call.pk]), follow=True
    )
    assert "Онлайн-звонок опубликован" in text(response)
    assert OnlineCall.objects.get(pk=call.pk).status == "published"


def test_a_finished_call_says_it_was_finished(client, college):
    call = act("publish", create(college), college.admin)
    response = signed_in(client, college.admin).post(
        reverse("calls:finish", args=[call.pk]), follow=True
    )
    assert "Онлайн-звонок завершён" in text(response)


def test_a_deleted_call_leaves_the_list(client, college):
    call = create(college, title="Лишний звонок")
    signed_in(client, college.admin)
    assert "Лишний звонок" in text(client.get(settings_url(college.custom_chat)))
    response = client.post(reverse("calls:delete", args=[call.pk]), follow=True)
    html = text(response)
    assert "Онлайн-звонок удалён" in html
    assert "Лишний звонок" not in html


def test_publishing_beside_a_published_call_warns_with_the_seeds_words_before_asking(
    client, college
):
    act("publish", create(college, title="Первый"), college.admin)
    second = create(college, title="Второй")
    html = text(signed_in(client, college.admin).get(reverse("calls:publish", args=[second.pk])))
    assert services.ALREADY_PUBLISHED in html
    assert "Да, опубликовать" not in html


def test_publishing_beside_a_published_call_warns_and_changes_nothing(client, college):
    act("publish", create(college, title="Первый"), college.admin)
    second = create(college, title="Второй")
    before = snapshot(second)
    response = signed_in(client, college.curator).post(
        reverse("calls:publish", args=[second.pk]), follow=True
    )
    assert services.ALREADY_PUBLISHED in text(response)
    assert snapshot(second) == before


def test_a_published_call_cannot_be_edited_and_the_form_says_why(client, college):
    call = act("publish", create(college), college.admin)
    before = snapshot(call)
    signed_in(client, college.admin)
    url = reverse("calls:edit", args=[call.pk])
    html = text(client.get(url))
    assert "Редактировать можно только звонок в статусе «Создан»." in html
    assert 'name="title"' not in html
    client.post(url, form_data(college, college.custom_chat, title="Другое"))
    assert snapshot(call) == before


def test_a_finished_call_cannot_be_published_again(client, college):
    call = act("finish", act("publish", create(college), college.admin), college.admin)
    signed_in(client, college.admin)
    url = reverse("calls:publish", args=[call.pk])
    assert "Опубликовать можно только звонок в статусе «Создан»." in text(client.get(url))
    response = client.post(url, follow=True)
    assert "Опубликовать можно только звонок в статусе «Создан»." in text(response)
    assert snapshot(call)[2] == "finished"


# The list on the settings page (F19, F22) ------------------------------------------------------


def test_the_settings_page_lists_the_chats_calls_for_those_who_manage_them(client, college):
    create(college, title="Созданный")
    finished = act("publish", create(college, title="Завершённый"), college.admin)
    act("finish", finished, college.admin)
    act("publish", create(college, title="Опубликованный"), college.curator)
    act("delete", create(college, title="Удалённый"), college.admin)

    html = text(signed_in(client, college.curator).get(settings_url(college.custom_chat)))

    assert '<h2 id="chat-calls-title" class="card__title">Онлайн-звонки' in html
    assert "Создать онлайн-звонок" in html
    assert "Удалённый" not in html
    assert '<span class="call-status call-status--created">Создан</span>' in html
    assert '<span class="call-status call-status--published">Опубликован</span>' in html
    assert '<span class="call-status call-status--finished">Завершён</span>' in html
    # Date and time by the college's clock, and the short FIO of the last to act.
    assert "11.03.2026" in html and "12:00" in html
    assert "Кураторова М. И." in html
    assert "Админова А. П." in html


def test_each_row_offers_the_icons_of_what_can_be_done_now(client, college):
    created = create(college)
    finished = act("finish", act("publish", create(college), college.admin), college.admin)
    published = act("publish", create(college), college.admin)
    html = signed_in(client, college.admin).get(settings_url(college.custom_chat)).text

    def icons(call):
        row = html.split(f'id="call-{call.pk}"', 1)[1].split("</tr>", 1)[0]
        return [
            action
            for action in ("edit", "publish", "finish", "delete")
            if f'href="/calls/{call.pk}/{action}/"' in row
        ]

    assert icons(created) == ["edit", "publish", "delete"]
    assert icons(published) == ["finish", "delete"]
    assert icons(finished) == ["delete"]


@pytest.mark.parametrize("who", ["student", "outsider"])
def test_those_who_may_not_manage_calls_see_nothing_of_the_section(client, college, who):
    factories.ChatMemberFactory(chat=college.custom_chat, person=person_of(college.outsider))
    act("publish", create(college, title="Опубликованный"), college.admin)
    html = text(signed_in(client, getattr(college, who)).get(settings_url(college.custom_chat)))
    assert "Онлайн-звонки" not in html
    assert "Создать онлайн-звонок" not in html
    assert "Опубликованный" not in html
    assert 'id="call-modal"' not in html


def test_the_oo_admin_manages_calls_of_a_mandatory_chat_from_its_settings(client, college):
    html = text(signed_in(client, college.admin).get(settings_url(college.group_chat)))
    assert f'href="/calls/chat/{college.group_chat.pk}/new/"' in html
    assert "Онлайн-звонков пока нет" in html


def _add_calls(college, n):
    OnlineCall.objects.bulk_create(
        OnlineCall(
            chat=college.custom_chat,
            title=f"Звонок {i}",
            starts_at=NOW + dt.timedelta(days=1, minutes=i),
            status="created",
            created_by=person_of(college.admin),
            last_actor=person_of(college.curator if i % 2 else college.admin),
        )
        for i in range(n)
    )


def test_the_settings_page_costs_the_same_queries_with_3_or_30_calls(client, college):
    signed_in(client, college.curator)
    url = settings_url(college.custom_chat)
    _add_calls(college, 3)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _add_calls(college, 27)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.text.count('class="call-row ') == 30
    assert len(many) == len(few)


def test_the_list_alone_costs_the_same_queries_with_3_or_30_calls(client, college):
    signed_in(client, college.curator)
    url = reverse("calls:chat_calls", args=[college.custom_chat.pk])
    _add_calls(college, 3)
    client.get(url, headers=HTMX)  # the first visit also stores the current organization
    with CaptureQueriesContext(connection) as few:
        client.get(url, headers=HTMX)
    _add_calls(college, 27)
    with CaptureQueriesContext(connection) as many:
        client.get(url, headers=HTMX)
    assert len(many) == len(few)


# The dialogs (HTMX) and the pages without JavaScript -------------------------------------------


def test_with_htmx_the_form_opens_as_a_dialog(client, college):
    signed_in(client, college.admin)
    url = reverse("calls:create", args=[college.custom_chat.pk])
    dialog = client.get(url, headers=HTMX).text
    assert dialog.lstrip().startswith("<dialog")
    assert "<html" not in dialog
    assert "Создание онлайн-звонка" in dialog
    page = client.get(url).text
    assert "<html" in page and "<dialog" not in page


def test_with_htmx_a_saved_call_closes_the_dialog_and_refreshes_the_list(client, college):
    signed_in(client, college.admin)
    response = client.post(
        reverse("calls:create", args=[college.custom_chat.pk]),
        form_data(college, college.custom_chat),
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"
    assert set(json.loads(response["HX-Trigger"])) == {"calls-changed", "calls-dialog-close"}
    assert OnlineCall.objects.filter(chat=college.custom_chat).count() == 1

    refreshed = text(
        client.get(reverse("calls:chat_calls", args=[college.custom_chat.pk]), headers=HTMX)
    )
    assert refreshed.startswith('<section id="chat-calls"')
    assert "Онлайн-звонок создан" in refreshed
    assert "Классный час" in refreshed


def test_with_htmx_a_refused_form_comes_back_into_the_dialog_with_its_error(client, college):
    signed_in(client, college.admin)
    response = client.post(
        reverse("calls:create", args=[college.custom_chat.pk]),
        form_data(college, college.custom_chat, title=""),
        headers=HTMX,
    )
    html = text(response)
    assert html.startswith('<form id="call-form"')
    assert "Укажите наименование звонка." in html
    assert not OnlineCall.objects.exists()


def test_with_htmx_publishing_says_so_in_the_refreshed_list(client, college):
    call = create(college)
    signed_in(client, college.admin)
    response = client.post(reverse("calls:publish", args=[call.pk]), headers=HTMX)
    assert response["HX-Reswap"] == "none"
    refreshed = text(
        client.get(reverse("calls:chat_calls", args=[college.custom_chat.pk]), headers=HTMX)
    )
    assert "Онлайн-звонок опубликован" in refreshed


def test_with_htmx_the_seeds_warning_shows_in_the_refreshed_list(client, college):
    act("publish", create(college), college.admin)
    second = create(college)
    signed_in(client, college.admin)
    client.post(reverse("calls:publish", args=[second.pk]), headers=HTMX)
    refreshed = text(
        client.get(reverse("calls:chat_calls", args=[college.custom_chat.pk]), headers=HTMX)
    )
    assert services.ALREADY_PUBLISHED in refreshed
    assert snapshot(second)[2] == "created"


def test_the_confirmation_opens_as_a_dialog_with_htmx_and_as_a_page_without(client, college):
    call = create(college)
    signed_in(client, college.admin)
    url = reverse("calls:publish", args=[call.pk])
    assert client.get(url, headers=HTMX).text.lstrip().startswith("<dialog")
    page = client.get(url).text
    assert "<html" in page
    assert f'<form method="post" action="{url}"' in page

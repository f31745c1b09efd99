"""F3: three ways into «Чаты» — the icon in the profile block, «Сообщения» in the left menu and
«Показать еще сообщения» in the desktop's «Личные сообщения»."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from epos_chats.models import Chat, ChatMember
from tests import factories

pytestmark = pytest.mark.django_db

CHATS = "/chats/"


@pytest.fixture
def org():
    return factories.OrganizationFactory(short_name="ПК № 7")


@pytest.fixture
def teacher(org):
    return factories.StaffMemberFactory(organization=org).person


def page(client, person, path="/"):
    client.force_login(person)
    response = client.get(path)
    assert response.status_code == 200
    return response


def links_to(html, href):
    """The opening tags of the links to `href`."""
    return re.findall(rf'<a [^>]*href="{re.escape(href)}"[^>]*>', html)


def test_all_three_ways_lead_to_the_chats_page(client, teacher):
    html = page(client, teacher).text
    header = html.split('<div class="profile"', 1)[1].split("</header>", 1)[0]
    menu = html.split('<nav class="sidebar"', 1)[1].split("</nav>", 1)[0]
    widget = html.split('aria-labelledby="w-messages"', 1)[1].split("</section>", 1)[0]

    assert links_to(header, CHATS)
    assert links_to(menu, CHATS)
    assert links_to(widget, CHATS)
    assert reverse("epos_chats:index") == CHATS


def test_the_profile_block_has_the_personal_messages_icon(client, teacher):
    html = page(client, teacher).text
    header = html.split('<div class="profile"', 1)[1].split("</header>", 1)[0]
    (icon,) = links_to(header, CHATS)
    assert 'aria-label="Личные сообщения"' in icon
    assert 'title="Личные сообщения"' in icon
    after = html.split(icon, 1)[1]
    assert after.lstrip().startswith("<svg")


def test_the_left_menu_has_messages_marked_current_on_the_chats_pages(client, org, teacher):
    chat = factories.ChatFactory(organization=org)
    factories.ChatMemberFactory(chat=chat, person=teacher)

    def menu_link(path):
        html = page(client, teacher, path).text
        menu = html.split('<nav class="sidebar"', 1)[1].split("</nav>", 1)[0]
        (link,) = links_to(menu, CHATS)
        assert "<span>Сообщения</span>" in menu.split(link, 1)[1].split("</a>", 1)[0]
        return link

    assert 'aria-current="page"' not in menu_link("/")
    assert 'aria-current="page"' in menu_link(CHATS)
    assert 'aria-current="page"' in menu_link(reverse("epos_chats:settings", args=[chat.pk]))


@pytest.fixture
def epos_hidden(settings):
    """The VK chats fill «Личные сообщения» once the ЭПОС block is hidden (F30 shows the
    ЭПОС conversations there before that: tests/epos_chats/test_messaging_views.py)."""
    settings.EPOS_CHATS_HIDDEN_FROM = dt.date(2000, 1, 1)


def _chat(org, person, title, changed_at, **fields):
    chat = factories.ChatFactory(organization=org, title=title, changed_at=changed_at, **fields)
    factories.ChatMemberFactory(chat=chat, person=person)
    return chat


def test_the_desktop_widget_lists_the_persons_five_latest_vk_chats(
    client, org, teacher, epos_hidden
):
    now = timezone.now()
    for days in range(7):
        _chat(org, teacher, f"Чат {days} дн.", now - dt.timedelta(days=days))
    _chat(org, teacher, "Переписка ЭПОС", now, platform="epos")
    _chat(org, teacher, "Удалённый", now, deleted_at=now)
    factories.ChatFactory(organization=org, title="Не мой", changed_at=now)
    _chat(factories.OrganizationFactory(), teacher, "Другой колледж", now)

    response = page(client, teacher)

    shown = [c.title for c in response.context["desktop"].recent_chats]
    assert shown == [f"Чат {days} дн." for days in range(5)]
    widget = response.text.split('aria-labelledby="w-messages"', 1)[1].split("</section>", 1)[0]
    assert "Личные сообщения</h2>" in widget
    assert "Показать еще сообщения</a>" in widget


def test_the_desktop_widget_shows_linked_over_all_members(client, org, teacher, epos_hidden):
    chat = _chat(org, teacher, "Кружок", timezone.now())
    factories.VkLinkFactory(person=teacher)
    factories.ChatMemberFactory(chat=chat)

    response = page(client, teacher)

    (shown,) = response.context["desktop"].recent_chats
    assert (shown.linked_count, shown.member_count) == (1, 2)
    assert ">1 / 2</span>" in response.text


def test_the_desktop_widget_says_when_there_are_no_chats(client, teacher, epos_hidden):
    response = page(client, teacher)
    assert "Вы пока не состоите ни в одном чате VK Мессенджер." in response.text
    assert "Показать еще сообщения" in response.text


def test_the_desktop_widget_costs_the_same_queries_however_many_chats(
    client, org, teacher, epos_hidden
):
    client.force_login(teacher)
    client.get("/")

    def grow(n):
        chats = Chat.objects.bulk_create(
            Chat(organization=org, kind="custom", title=f"Чат {i}") for i in range(n)
        )
        ChatMember.objects.bulk_create(ChatMember(chat=c, person=teacher) for c in chats)

    grow(2)
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    grow(300)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/")

    assert len(many) == len(few)
    assert len(response.context["desktop"].recent_chats) == 5

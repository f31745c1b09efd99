"""Script and HTML typed into chat names, FIO, call titles render as text on every page: in a
real browser no dialog fires, and the Content-Security-Policy reports no violation (which also
proves the policy lets htmx and our own scripts work) — issue 10, point 2."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from calls import services as calls
from directory.selectors import roles_of
from epos_chats.models import Chat
from tests import factories

pytestmark = pytest.mark.e2e

PASSWORD = "pass-1234"
CHAT_NAME = "<img src=x onerror=alert(1)>"
CALL_TITLE = "<script>alert(1)</script>"
EVIL_FIO = (
    "<b onmouseover=alert(2)>Злов",
    "<svg/onload=alert(3)>",
    "\"'><script>alert(4)</script>",
)


@pytest.fixture
def college():
    org = factories.OrganizationFactory(short_name="КС", name="ГБПОУ «Колледж <i>Север</i>»")
    admin = factories.StaffMemberFactory(
        organization=org,
        is_admin=True,
        person=factories.PersonFactory(
            login="ivanova", last_name="Иванова", first_name="Мария", middle_name="Петровна"
        ),
    )
    factories.VkLinkFactory(person=admin.person)
    group = factories.GroupFactory(organization=org, name="<u>ИС-21</u>", course=2)
    last, first, middle = EVIL_FIO
    student = factories.StudentFactory(
        organization=org,
        group=group,
        person=factories.PersonFactory(last_name=last, first_name=first, middle_name=middle),
    )
    return {"org": org, "admin": admin.person, "student": student.person}


@pytest.fixture
def watched(page):
    """Every dialog that fires and every CSP violation the console reports."""
    seen = {"dialogs": [], "csp": []}

    def on_dialog(dialog):
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "console",
        lambda msg: seen["csp"].append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return seen


def test_hostile_names_render_as_text_and_nothing_runs(page, college, watched):
    page.goto("/login/")
    page.get_by_label("Логин").fill("ivanova")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()

    # A «Произвольный чат» named as an attack, through the real form and picker.
    page.get_by_role("link", name="Сообщения", exact=True).click()
    page.get_by_role("link", name="Новый чат").click()
    page.get_by_role("dialog", name="Новый чат").get_by_role("button", name="Продолжить").click()
    expect(page).to_have_url(re.compile(r"/chats/new/custom/\?draft=\d+$"))
    page.get_by_label("Наименование чата").fill(CHAT_NAME)
    page.locator("#picker").get_by_role("link", name="Обучающиеся").click()
    expect(page.locator(".pick")).to_have_count(1)
    page.locator(".pick").first.get_by_role("checkbox").first.check()
    expect(page.locator("#picker-tab-count")).to_have_text("(1)")
    page.get_by_role("button", name="Создать чат").click()
    expect(page).to_have_url(re.compile(r"/chats/\?sort=changed#chat-\d+$"))
    chat = Chat.objects.get(organization=college["org"], kind="custom")
    assert chat.title.startswith(CHAT_NAME)

    # A call titled as an attack, published in that chat.
    call = calls.call_create(
        actor=college["admin"],
        roles=roles_of(college["admin"], college["org"]),
        chat=chat,
        title=CALL_TITLE,
        date=dt.date.today() + dt.timedelta(days=1),
        time=dt.time(12, 0),
    )
    calls.call_publish(
        actor=college["admin"], roles=roles_of(college["admin"], college["org"]), call=call
    )

    pages = [
        reverse("desktop"),
        reverse("epos_chats:index"),
        reverse("epos_chats:settings", args=[chat.pk]),
        reverse("calls:chat_calls", args=[chat.pk]),
        reverse("calls:join", args=[call.pk]),
        reverse("calls:edit", args=[call.pk]),
        reverse("epos_chats:rename", args=[chat.pk]),
        reverse("epos_chats:members", args=[chat.pk]),
    ]
    for url in pages:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        body = page.locator("body")
        assert page.locator("img[src='x']").count() == 0, url
        assert page.locator("script:not([src])").count() == 0, url
        assert page.locator("[onerror], [onload], [onmouseover]").count() == 0, url
        text = body.inner_text()
        if "settings" in url or url.endswith("/chats/"):
            assert CHAT_NAME in text, f"{url}: the name is shown as typed"
    # The card on «Чаты» and the chat's calls show the title as text.
    page.goto(reverse("calls:chat_calls", args=[chat.pk]))
    expect(page.locator("body")).to_contain_text(CALL_TITLE)
    # The hostile FIO, in the chat's members.
    page.goto(reverse("epos_chats:settings", args=[chat.pk]))
    expect(page.locator("body")).to_contain_text(EVIL_FIO[0])
    # The settings page's menu and dialogs (htmx + static/js/dialogs.js) work under the CSP.
    page.get_by_label("Действия с чатом").click()
    page.get_by_role("link", name="Переименовать").click()
    rename = page.get_by_role("dialog", name="Переименовать чат")
    expect(rename).to_be_visible()
    expect(rename.get_by_label("Наименование чата")).to_have_value(chat.title)
    rename.get_by_role("link", name="Отменить").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    assert watched["dialogs"] == [], "a script ran"
    assert watched["csp"] == [], "the Content-Security-Policy blocked something of ours"

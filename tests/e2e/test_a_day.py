"""A day in the browser (issue 10, point 7), through the real UI against the VK emulator:
an OO admin links a VK ID and creates a «Произвольный чат»; a teacher creates and publishes a
call in his «Дисциплина» chat; a student sees the mark and the call on the chat's card; the
nightly run pushes it all and the emulator holds what the journal says; the next night the
call is finished there too. Each step's screenshot lands in tests/e2e/artifacts/ (ignored by
git) for a person to look at."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from calls.models import OnlineCall
from directory.selectors import today_in
from epos_chats.models import Chat
from epos_chats.services import rebuild_mandatory_chats
from tests import factories
from tests.vk_sync.test_reconcile import actual, expected
from vk_sync.models import VkLink

pytestmark = pytest.mark.e2e

PASSWORD = "pass-1234"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def person(login, last, first, middle):
    return factories.PersonFactory(
        login=login, last_name=last, first_name=first, middle_name=middle
    )


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
def college():
    org = factories.OrganizationFactory(code="sever", short_name="КС", name="Колледж Север")
    admin = factories.StaffMemberFactory(
        organization=org,
        is_admin=True,
        position="Директор",
        person=person("ivanova", "Иванова", "Мария", "Петровна"),
    )
    teacher = factories.StaffMemberFactory(
        organization=org, person=person("orlov", "Орлов", "Павел", "Андреевич")
    )
    group = factories.GroupFactory(organization=org, name="ИС-21", course=2, curators=[teacher])
    student = factories.StudentFactory(
        organization=org, group=group, person=person("kuznetsov", "Кузнецов", "Артём", "Олегович")
    )
    teaching = factories.TeachingFactory(
        group=group,
        discipline=factories.DisciplineFactory(organization=org, name="Информатика"),
        teachers=[teacher],
    )
    tomorrow = today_in(org) + dt.timedelta(days=1)
    factories.LessonFactory(
        teaching=teaching, date=tomorrow, start=dt.time(10, 40), end=dt.time(12, 10)
    )
    rebuild_mandatory_chats(org)
    discipline = Chat.objects.filter(organization=org, kind="discipline").first()
    if discipline is None:  # the «Дисциплина» chat a teacher made earlier
        discipline = factories.ChatFactory(
            organization=org, kind="discipline", title="Информатика ИС-21", teaching=teaching
        )
        factories.ChatMemberFactory(chat=discipline, person=teacher.person, is_admin=True)
        factories.ChatMemberFactory(chat=discipline, person=student.person)
    factories.VkLinkFactory(person=teacher.person, vk_user_id=700001)
    factories.VkLinkFactory(person=student.person, vk_user_id=700002)
    return {"org": org, "admin": admin.person, "discipline": discipline, "tomorrow": tomorrow}


class Shots:
    def __init__(self, page):
        self.page, self.n = page, 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> None:
        self.n += 1
        self.page.screenshot(path=str(ARTIFACTS / f"a-day-{self.n:02d}-{name}.png"), full_page=True)


def settled(page):
    expect(
        page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    ).to_have_count(0)


def sign_in(page, login):
    page.goto("/login/")
    page.get_by_label("Логин").fill(login)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page.locator(".profile")).to_be_visible()


def sign_out(page):
    page.locator(".logout").get_by_role("button", name="Выйти").click()
    expect(page).to_have_url(re.compile(r"/login/"))


def test_a_day_in_the_browser(page, vk, college):
    shot = Shots(page)
    org, tomorrow = college["org"], college["tomorrow"]

    # 1. The OO admin links her VK ID through the emulator's VK ID page.
    sign_in(page, "ivanova")
    page.locator(".menu").get_by_role("link", name="Сообщения").click()
    page.get_by_role("link", name="Привязать учебный профиль VK ID").click()
    expect(page).to_have_url(re.compile(re.escape(vk.url) + "/emulator/authorize"))
    page.locator("#vk_user_id").fill("700100")
    shot("vk-id-authorize")
    page.get_by_role("button", name="Разрешить").click()
    expect(page).to_have_url(re.compile(r"/chats/"))
    expect(page.locator(".messages")).to_contain_text("Учебный профиль VK ID привязан")
    assert VkLink.objects.get(person=college["admin"]).vk_user_id == 700100
    shot("admin-linked")

    # 2. …and creates a «Произвольный чат» with the student.
    page.get_by_role("link", name="Новый чат").click()
    page.get_by_role("dialog", name="Новый чат").get_by_role("button", name="Продолжить").click()
    page.get_by_label("Наименование чата").fill("Кружок робототехники")
    page.locator("#picker").get_by_role("link", name="Обучающиеся").click()
    expect(page.locator(".pick")).to_have_count(1)
    page.locator(".pick").first.get_by_role("checkbox").first.check()
    expect(page.locator("#picker-tab-count")).to_have_text("(1)")
    shot("custom-chat-form")
    page.get_by_role("button", name="Создать чат").click()
    expect(page.locator(".messages")).to_contain_text("Чат «Кружок робототехники")
    shot("custom-chat-created")
    sign_out(page)

    # 3. The teacher creates and publishes a call in his «Дисциплина» chat.
    sign_in(page, "orlov")
    page.goto(f"/chats/{college['discipline'].pk}/")
    calls = page.locator("#chat-calls")
    calls.get_by_role("link", name="Создать онлайн-звонок").click()
    dialog = page.get_by_role("dialog", name="Создание онлайн-звонка")
    expect(dialog).to_be_visible()
    settled(page)  # htmx has wired the dialog: the date's «change» will be heard
    dialog.get_by_label("Дата звонка").select_option(tomorrow.isoformat())
    lesson = dialog.get_by_label("Урок в расписании")
    expect(lesson).to_be_enabled()  # the date's lessons have come
    expect(lesson).to_contain_text("10:40–12:10 — Информатика")
    lesson.select_option(label="10:40–12:10 — Информатика")
    shot("call-form")
    dialog.get_by_role("button", name="Сохранить").click()
    expect(calls).to_contain_text("Онлайн-звонок создан")
    row = calls.locator("tbody tr").first
    row.get_by_role("link", name=re.compile("^Опубликовать")).click()
    page.get_by_role("dialog", name="Публикация онлайн-звонка").get_by_role(
        "button", name="Да, опубликовать"
    ).click()
    expect(row.locator(".call-status")).to_have_text("Опубликован")
    shot("call-published")
    call = OnlineCall.objects.get(chat=college["discipline"])
    assert call.status == "published"
    sign_out(page)

    # 4. The student sees the mark beside «Сообщения» and the call on the chat's card.
    sign_in(page, "kuznetsov")
    expect(page.locator(".menu .calls-mark")).to_be_visible()
    shot("student-mark")
    page.locator(".menu").get_by_role("link", name="Сообщения").click()
    on_card = page.locator(f"#chat-{college['discipline'].pk} .card-call")
    expect(on_card).to_contain_text("Онлайн-занятие Информатика")
    expect(on_card).to_contain_text(f"{tomorrow:%d.%m.%Y} в 10:40")
    shot("student-card")

    # 5. Tonight's run: the messenger holds exactly what the journal says.
    call_command("nightly")
    assert actual(vk)[:2] == expected(org)
    remote = [c for c in vk.state()["calls"] if c["external_id"] == f"call-{call.pk}"]
    assert remote and remote[0]["status"] == "scheduled"
    page.goto(f"{vk.url}/emulator/state")
    shot("emulator-after-night-1")

    # 6. The next night, after the lesson: the call is finished, here and there.
    after = dt.datetime.combine(tomorrow + dt.timedelta(days=1), dt.time(0, 5), org.zone)
    call_command("nightly", now=after.isoformat())
    call.refresh_from_db()
    assert call.status == "finished"
    remote = [c for c in vk.state()["calls"] if c["external_id"] == f"call-{call.pk}"]
    assert remote[0]["status"] == "finished"
    assert actual(vk)[:2] == expected(org)
    page.goto("/chats/")
    expect(page.locator(f"#chat-{college['discipline'].pk} .card-call")).to_have_count(0)
    shot("student-after-night-2")

"""F19–F26 in the browser: a teacher, admin of his «Дисциплина» chat, schedules a call at a
lesson of the schedule, publishes it, finds it on the chat's card on «Чаты», and finishes it."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from calls.models import OnlineCall
from directory.selectors import today_in
from tests import factories

pytestmark = pytest.mark.e2e

PASSWORD = "pass-1234"  # PersonFactory's


@pytest.fixture
def teacher():
    """Орлов Павел Андреевич teaches Информатика to ИС-21 (lessons tomorrow at 09:00 and 10:40,
    and in three days), is the admin of its «Дисциплина» chat and has linked his VK ID."""
    org = factories.OrganizationFactory(short_name="Колледж Север")
    staff = factories.StaffMemberFactory(
        organization=org,
        position="Преподаватель",
        person__login="orlov",
        person__last_name="Орлов",
        person__first_name="Павел",
        person__middle_name="Андреевич",
    )
    student = factories.StudentFactory(group__organization=org, group__name="ИС-21")
    teaching = factories.TeachingFactory(
        group=student.group,
        discipline=factories.DisciplineFactory(organization=org, name="Информатика"),
        teachers=[staff],
    )
    tomorrow = today_in(org) + dt.timedelta(days=1)
    for date, start in (
        (tomorrow, dt.time(9)),
        (tomorrow, dt.time(10, 40)),
        (tomorrow + dt.timedelta(days=2), dt.time(9)),
    ):
        end = (dt.datetime.combine(date, start) + dt.timedelta(minutes=90)).time()
        factories.LessonFactory(teaching=teaching, date=date, start=start, end=end)
    chat = factories.ChatFactory(
        organization=org, kind="discipline", title="Информатика ИС-21", teaching=teaching
    )
    factories.ChatMemberFactory(chat=chat, person=staff.person, is_admin=True)
    factories.ChatMemberFactory(chat=chat, person=student.person)
    factories.VkLinkFactory(person=staff.person)
    return {"person": staff.person, "chat": chat, "tomorrow": tomorrow}


def test_a_teacher_schedules_publishes_finds_and_finishes_a_call(page, teacher):
    tomorrow = teacher["tomorrow"]
    page.goto("/login/")
    page.get_by_label("Логин").fill("orlov")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()

    # «Чаты» → the chat's settings («Редактировать настройки чата»).
    page.locator(".menu").get_by_role("link", name="Сообщения").click()
    card = page.locator(f"#chat-{teacher['chat'].pk}")
    card.get_by_role("link", name="Редактировать настройки чата").click()
    expect(page.get_by_role("heading", name="Информатика ИС-21", level=1)).to_be_visible()
    calls = page.locator("#chat-calls")
    expect(calls).to_contain_text("Онлайн-звонков пока нет")

    # «Создать онлайн-звонок» opens the dialog over the page.
    page.evaluate("window.stillTheSamePage = true")
    calls.get_by_role("link", name="Создать онлайн-звонок").click()
    dialog = page.get_by_role("dialog", name="Создание онлайн-звонка")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Наименование звонка")).to_have_value("Онлайн-занятие Информатика")
    lesson = dialog.get_by_label("Урок в расписании")
    expect(lesson).to_be_disabled()

    # Only dates with lessons; choosing one brings its lessons.
    date = dialog.get_by_label("Дата звонка")
    expect(date.locator("option")).to_have_count(3)  # «Выберите дату» and the two dates
    date.select_option(tomorrow.isoformat())
    expect(lesson).to_be_enabled()
    expect(lesson.locator("option")).to_have_text(
        ["Выберите урок", "09:00–10:30 — Информатика", "10:40–12:10 — Информатика"]
    )
    lesson.select_option(label="10:40–12:10 — Информатика")
    dialog.get_by_role("button", name="Сохранить").click()

    expect(dialog).to_be_hidden()
    expect(calls).to_contain_text("Онлайн-звонок создан")
    row = calls.locator("tbody tr").first
    expect(row).to_contain_text(f"{tomorrow:%d.%m.%Y} 10:40")
    expect(row).to_contain_text("Онлайн-занятие Информатика")
    expect(row).to_contain_text("Орлов П. А.")
    expect(row.locator(".call-status")).to_have_text("Создан")
    assert page.evaluate("window.stillTheSamePage") is True

    # «Опубликовать» asks first.
    row.get_by_role("link", name=re.compile("^Опубликовать")).click()
    confirm = page.get_by_role("dialog", name="Публикация онлайн-звонка")
    expect(confirm).to_contain_text("Опубликовать онлайн-звонок «Онлайн-занятие Информатика»?")
    confirm.get_by_role("button", name="Да, опубликовать").click()
    expect(confirm).to_be_hidden()
    expect(calls).to_contain_text("Онлайн-звонок опубликован")
    expect(row.locator(".call-status")).to_have_text("Опубликован")
    assert OnlineCall.objects.get().status == "published"

    # On «Чаты» the chat's card shows the call, and leads to it.
    page.locator(".menu").get_by_role("link", name="Сообщения").click()
    on_card = page.locator(f"#chat-{teacher['chat'].pk} .card-call")
    expect(on_card).to_contain_text("Онлайн-занятие Информатика")
    expect(on_card).to_contain_text(f"{tomorrow:%d.%m.%Y} в 10:40")
    on_card.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Онлайн-занятие Информатика")).to_be_visible()
    expect(page.get_by_text("Ссылка на звонок появится после передачи звонка")).to_be_visible()

    # Back to the chat's calls: «Завершить» asks «Да, завершить».
    page.get_by_role("link", name="Онлайн-звонки чата").click()
    row = page.locator("#chat-calls tbody tr").first
    row.get_by_role("link", name=re.compile("^Завершить")).click()
    finish = page.get_by_role("dialog", name="Завершение онлайн-звонка")
    finish.get_by_role("button", name="Да, завершить").click()
    expect(page.locator("#chat-calls")).to_contain_text("Онлайн-звонок завершён")
    expect(row.locator(".call-status")).to_have_text("Завершён")
    expect(row.get_by_role("link", name=re.compile("^Завершить"))).to_have_count(0)

    # The finished call has left the card.
    page.locator(".menu").get_by_role("link", name="Сообщения").click()
    expect(page.locator(f"#chat-{teacher['chat'].pk}")).to_be_visible()
    expect(page.locator(f"#chat-{teacher['chat'].pk} .card-call")).to_have_count(0)

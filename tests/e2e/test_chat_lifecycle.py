"""A «Произвольный чат» from birth to deletion in the browser (F14, F15, F17, F18)."""

import re

import pytest
from playwright.sync_api import expect

from epos_chats.models import Chat, ChatMember
from tests import factories

pytestmark = pytest.mark.e2e

PASSWORD = "pass-1234"  # PersonFactory's


def person(last, first, middle, **fields):
    return factories.PersonFactory(last_name=last, first_name=first, middle_name=middle, **fields)


@pytest.fixture
def college():
    """An OO admin linked to VK ID; a group with two students; a teacher and a librarian."""
    org = factories.OrganizationFactory(short_name="КС", name="ГБПОУ «Колледж Север»")
    admin = factories.StaffMemberFactory(
        organization=org,
        is_admin=True,
        position="Директор",
        person=person("Иванова", "Мария", "Петровна", login="ivanova"),
    )
    factories.VkLinkFactory(person=admin.person)
    group = factories.GroupFactory(organization=org, name="ИС-21", course=2)
    students = [
        factories.StudentFactory(organization=org, group=group, person=person(*fio))
        for fio in (("Кузнецов", "Артём", "Олегович"), ("Смирнова", "Дарья", "Игоревна"))
    ]
    teacher = factories.StaffMemberFactory(
        organization=org, person=person("Петрова", "Анна", "Сергеевна")
    )
    factories.StaffMemberFactory(
        organization=org, position="Библиотекарь", person=person("Орлова", "Вера", "Ильинична")
    )
    return {"admin": admin.person, "student": students[0].person, "teacher": teacher.person}


def settled(page):
    """htmx has swapped and wired the new content: typing into it now is heard."""
    expect(
        page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    ).to_have_count(0)


def test_an_oo_admin_creates_renames_and_deletes_a_custom_chat(page, college):
    page.goto("/login/")
    page.get_by_label("Логин").fill("ivanova")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.get_by_role("link", name="Сообщения", exact=True).click()

    # «+ Новый чат»: a dialog over «Чаты»; VK Мессенджер and «Произвольный чат» by default.
    page.get_by_role("link", name="Новый чат").click()
    dialog = page.get_by_role("dialog", name="Новый чат")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Тип чата")).to_have_value("custom")
    dialog.get_by_role("button", name="Продолжить").click()
    expect(page).to_have_url(re.compile(r"/chats/new/custom/\?draft=\d+$"))
    expect(page.get_by_role("heading", name="Создание чата")).to_be_visible()

    # The name, with the college's short name appended, previewed as it is typed.
    page.get_by_label("Наименование чата").fill("Кружок робототехники")
    expect(page.locator("#title-preview")).to_contain_text("Кружок робототехники КС")

    # A student from «Обучающиеся», a teacher from «Сотрудники» as the chat's admin.
    page.evaluate("window.stillTheSamePage = true")
    picker = page.locator("#picker")
    picker.get_by_role("link", name="Обучающиеся").click()
    expect(picker.get_by_role("link", name="Обучающиеся")).to_have_attribute("aria-current", "page")
    settled(page)
    page.get_by_label("Поиск по ФИО").fill("кузн")
    rows = page.locator(".pick")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("checkbox").first.check()
    expect(page.locator("#picker-tab-count")).to_have_text("(1)")

    picker.get_by_role("link", name="Сотрудники").click()
    expect(picker.get_by_role("link", name="Сотрудники")).to_have_attribute("aria-current", "page")
    settled(page)
    # The search follows the tabs; a new one for the teacher.
    expect(page.get_by_label("Поиск по ФИО")).to_have_value("кузн")
    page.get_by_label("Поиск по ФИО").fill("петр")
    teacher_row = page.locator(".pick", has_text="Петрова Анна Сергеевна")
    teacher_row.get_by_label("Администратор чата").check()
    expect(teacher_row.get_by_role("checkbox").first).to_be_checked()
    expect(page.locator("#picker-summary")).to_contain_text(
        "Выбрано участников: 2, из них администраторов чата: 1"
    )

    picker.get_by_role("link", name="Выбранные (2)").click()
    expect(rows).to_have_count(2)
    expect(picker).to_contain_text("Кузнецов Артём Олегович")
    expect(picker).to_contain_text("Петрова Анна Сергеевна")
    # Tabs, search and ticks never reloaded the page: the name typed is still there.
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.get_by_label("Наименование чата")).to_have_value("Кружок робототехники")

    page.get_by_role("button", name="Создать чат").click()
    expect(page).to_have_url(re.compile(r"/chats/\?sort=changed#chat-\d+$"))
    expect(page.locator(".messages")).to_contain_text("Чат «Кружок робототехники КС» создан.")
    card = page.locator(".chat-card", has_text="Кружок робототехники КС")
    expect(card).to_be_visible()
    chat = Chat.objects.get(title="Кружок робототехники КС")
    assert dict(ChatMember.objects.filter(chat=chat).values_list("person_id", "is_admin")) == {
        college["student"].pk: False,
        college["teacher"].pk: True,
    }

    # Rename from the settings page: «…» beside the name → «Переименовать».
    card.get_by_role("link", name="Редактировать настройки чата").click()
    expect(page.get_by_role("heading", name="Кружок робототехники КС", level=1)).to_be_visible()
    page.get_by_label("Действия с чатом").click()
    page.get_by_role("link", name="Переименовать").click()
    rename = page.get_by_role("dialog", name="Переименовать чат")
    expect(rename).to_be_visible()
    rename.get_by_label("Наименование чата").fill("Кружок робототехники и дронов")
    rename.get_by_role("button", name="Сохранить").click()
    expect(
        page.get_by_role("heading", name="Кружок робототехники и дронов", level=1)
    ).to_be_visible()
    expect(page.locator(".messages")).to_contain_text(
        "Чат переименован: «Кружок робототехники и дронов»."
    )

    # Delete: «Да, удалить» / «Отменить»; «Отменить» changes nothing.
    page.get_by_label("Действия с чатом").click()
    page.get_by_role("link", name="Удалить чат").click()
    confirm = page.get_by_role("dialog", name="Удалить чат «Кружок робототехники и дронов»?")
    expect(confirm).to_be_visible()
    confirm.get_by_role("link", name="Отменить").click()
    expect(confirm).to_have_count(0)
    page.get_by_label("Действия с чатом").click()
    page.get_by_role("link", name="Удалить чат").click()
    page.get_by_role("dialog").get_by_role("button", name="Да, удалить").click()

    expect(page).to_have_url(re.compile(r"/chats/$"))
    expect(page.locator(".messages")).to_contain_text("Чат «Кружок робототехники и дронов» удалён.")
    expect(page.locator(".chat-card", has_text="Кружок робототехники")).to_have_count(0)
    chat.refresh_from_db()
    assert chat.deleted_at is not None and chat.title == "Кружок робототехники и дронов"

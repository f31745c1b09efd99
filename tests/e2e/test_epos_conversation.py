"""F30 in the browser: a parent writes to a curator in the ЭПОС block, the curator sees the
unread mark and answers, and the answer reaches the parent by polling, without a reload."""

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.e2e

PASSWORD = "pass-1234"  # PersonFactory's


def person(last, first, middle, **fields):
    return factories.PersonFactory(last_name=last, first_name=first, middle_name=middle, **fields)


@pytest.fixture
def college():
    cache.clear()
    org = factories.OrganizationFactory(short_name="КС", name="ГБПОУ «Колледж Север»")
    curator = factories.StaffMemberFactory(
        organization=org, person=person("Петрова", "Анна", "Сергеевна", login="petrova")
    )
    group = factories.GroupFactory(organization=org, name="ИС-21", course=2, curators=[curator])
    child = factories.StudentFactory(
        organization=org, group=group, person=person("Кузнецов", "Артём", "Олегович")
    )
    factories.GuardianFactory(
        organization=org,
        children=[child],
        person=person("Кузнецова", "Елена", "Викторовна", login="kuznetsova"),
    )
    yield
    cache.clear()


def sign_in(page, login):
    page.goto("/login/")
    page.get_by_label("Логин").fill(login)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()


def test_a_parent_writes_to_a_curator_and_sees_the_answer_appear(
    page, browser, live_server, college
):
    sign_in(page, "kuznetsova")
    page.get_by_role("link", name="Сообщения", exact=True).click()
    page.locator("#epos-block").get_by_role("link", name="Написать").click()
    page.get_by_placeholder("Поиск по ФИО").fill("Петрова")
    page.get_by_role("button", name="Найти").click()
    page.get_by_role("button", name="Написать: Петрова Анна Сергеевна").click()
    expect(page.get_by_role("heading", name="Петрова А. С.")).to_be_visible()
    field = page.get_by_label("Сообщение")
    field.fill("Здравствуйте! Артём завтра задержится.")
    field.press("Enter")  # Enter sends
    expect(page.locator("#messages")).to_contain_text("Артём завтра задержится")
    expect(field).to_have_value("")

    curator = browser.new_context(base_url=live_server.url, locale="ru-RU")
    curator.set_default_timeout(10_000)
    other = curator.new_page()
    try:
        sign_in(other, "petrova")
        menu = other.get_by_role("link", name=re.compile("^Сообщения"))
        expect(menu.locator(".unread-count")).to_have_text("1")
        menu.click()
        other.locator("#epos-block").get_by_role("link", name="Кузнецова Е. В.").click()
        expect(other.locator("#messages")).to_contain_text("Артём завтра задержится")
        # Reading cleared the mark.
        expect(other.locator(".menu .unread-count")).to_have_count(0)
        answer = other.get_by_label("Сообщение")
        answer.fill("Спасибо, предупрежу преподавателя.")
        answer.press("Shift+Enter")  # a new line, not a send
        answer.type("Петрова А. С.")
        other.get_by_role("button", name="Отправить").click()
        expect(other.locator("#messages")).to_contain_text("предупрежу преподавателя")
    finally:
        curator.close()

    # The parent's page polls every 5 seconds: the answer arrives without a reload.
    expect(page.locator("#messages")).to_contain_text("предупрежу преподавателя", timeout=15_000)
    expect(page.locator("#messages li.msg")).to_have_count(2)

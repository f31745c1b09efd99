import re

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.e2e

PASSWORD = "pass-1234"  # PersonFactory's


@pytest.fixture
def teacher_and_parent():
    """An OO admin of «Колледж Север» whose son studies at «Колледж Юг»."""
    north = factories.OrganizationFactory(short_name="Колледж Север")
    south = factories.OrganizationFactory(short_name="Колледж Юг")
    staff = factories.StaffMemberFactory(
        organization=north,
        is_admin=True,
        position="Преподаватель",
        person__login="ivanova",
        person__last_name="Иванова",
        person__first_name="Мария",
        person__middle_name="Петровна",
    )
    son = factories.StudentFactory(
        group__organization=south,
        group__name="ТМ-31",
        person__last_name="Иванов",
        person__first_name="Пётр",
        person__middle_name="Сергеевич",
    )
    factories.GuardianFactory(organization=south, person=staff.person, children=[son])
    return staff.person


def test_a_person_signs_in_switches_college_and_signs_out(page, teacher_and_parent):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Вход в ЭПОС.СПО")).to_be_visible()

    page.get_by_label("Логин").fill("ivanova")
    page.get_by_label("Пароль").fill("wrong")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("alert")).to_contain_text("Неверный логин или пароль")

    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()

    expect(page.get_by_role("heading", name="Рабочий стол", level=1)).to_be_visible()
    profile = page.locator(".profile")
    expect(profile).to_contain_text("Иванова М. П.")
    expect(profile).to_contain_text("Администратор ОО · Преподаватель")
    switch = page.get_by_label("Текущая организация")
    expect(switch.locator("option:checked")).to_have_text("Колледж Север")
    expect(page.get_by_role("heading", name="Колледж")).to_be_visible()

    switch.select_option(label="Колледж Юг")
    page.get_by_role("button", name="Сменить").click()

    expect(page.get_by_role("status")).to_contain_text("Текущая организация: Колледж Юг.")
    expect(switch.locator("option:checked")).to_have_text("Колледж Юг")
    expect(profile).to_contain_text("Родитель")
    expect(page.get_by_role("heading", name="Мои дети")).to_be_visible()
    expect(page.get_by_text("Иванов Пётр Сергеевич")).to_be_visible()

    page.get_by_role("button", name="Выйти").click()

    expect(page.get_by_role("heading", name="Вход в ЭПОС.СПО")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Вы вышли из ЭПОС.СПО.")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))

import re

import pytest
from playwright.sync_api import expect

from epos_chats.models import Chat
from tests import factories

pytestmark = pytest.mark.e2e

PASSWORD = "pass-1234"  # PersonFactory's


@pytest.fixture
def admin_with_forty_chats():
    """An OO admin linked to VK ID in a college with 20 «Кружок» and 20 «Секция» chats."""
    org = factories.OrganizationFactory(short_name="Колледж Север")
    staff = factories.StaffMemberFactory(
        organization=org,
        is_admin=True,
        person__login="ivanova",
        person__last_name="Иванова",
        person__first_name="Мария",
        person__middle_name="Петровна",
    )
    factories.VkLinkFactory(person=staff.person)
    Chat.objects.bulk_create(
        Chat(organization=org, kind="custom", title=f"{name} {i:02d}")
        for name in ("Кружок", "Секция")
        for i in range(1, 21)
    )
    return staff.person


def test_an_oo_admin_searches_pages_and_expands_the_vk_block(page, admin_with_forty_chats):
    page.goto("/login/")
    page.get_by_label("Логин").fill("ivanova")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.get_by_role("link", name="Личные сообщения").first.click()

    expect(page).to_have_url(re.compile(r"/chats/$"))
    expect(page.get_by_role("heading", name="Чаты", level=1)).to_be_visible()
    summary = page.locator(".chat-list__summary")
    expect(summary).to_contain_text("Всего чатов: 40")
    cards = page.locator(".chat-card__title")
    expect(cards).to_have_count(15)

    # As-you-type search swaps the list in place: the page itself is not reloaded.
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("Поиск по названию чата").fill("секция")
    expect(summary).to_contain_text("Найдено чатов: 20")
    expect(page).to_have_url(re.compile(r"/chats/\?q=%D1%81%D0%B5%D0%BA%D1%86%D0%B8%D1%8F$"))
    expect(cards.first).to_have_text("Секция 01")
    assert page.evaluate("window.stillTheSamePage") is True
    # What lies outside the list follows it: the expand link and «Сбросить».
    expect(page.locator("#vk-block-toggle")).to_have_attribute(
        "href", re.compile(r"^\?q=%D1%81%D0%B5%D0%BA%D1%86%D0%B8%D1%8F&expand=vk$")
    )
    expect(page.get_by_role("link", name="Сбросить")).to_be_visible()

    page.get_by_role("link", name="Страница 2", exact=True).click()
    expect(summary).to_contain_text("страница 2 из 2")
    expect(cards).to_have_count(5)
    expect(cards.first).to_have_text("Секция 16")
    expect(page).to_have_url(re.compile(r"q=%D1%81%D0%B5%D0%BA%D1%86%D0%B8%D1%8F&page=2$"))
    assert page.evaluate("window.stillTheSamePage") is True

    # The state lives in the URL: a reload shows the same list.
    page.reload()
    expect(cards).to_have_count(5)
    expect(page.get_by_label("Поиск по названию чата")).to_have_value("секция")

    vk_block = page.locator("#vk-block")
    vk_block.get_by_role("link", name="Развернуть на весь экран").click()
    expect(page).to_have_url(re.compile(r"expand=vk"))
    expect(vk_block).to_have_class(re.compile(r"chat-block--expanded"))
    expect(page.locator("#epos-block")).to_have_count(0)
    box = vk_block.bounding_box()
    viewport = page.viewport_size
    assert box["width"] >= viewport["width"] - 1 and box["height"] >= viewport["height"] - 1
    expect(summary).to_contain_text("Найдено чатов: 20")

    vk_block.get_by_role("link", name="Свернуть").click()
    expect(page).not_to_have_url(re.compile(r"expand="))
    expect(vk_block).not_to_have_class(re.compile(r"chat-block--expanded"))
    expect(page.locator("#epos-block")).to_be_visible()
    expect(summary).to_contain_text("Найдено чатов: 20")

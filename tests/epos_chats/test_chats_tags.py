"""Parts of pages drawn in Python (epos_chats/templatetags/chats.py): the pager and a picker's
row, as a person reads them and as htmx follows them."""

from types import SimpleNamespace

from django.core.paginator import Paginator

from epos_chats.templatetags.chats import pager, pick_row, role_label
from epos_chats.views import _pager


def links(number: int, pages: int = 20) -> dict:
    page = Paginator(range(pages * 15), 15).get_page(number)
    return _pager(page, lambda n: f"/chats/?q=<&>&page={n}")


def test_the_pager_marks_the_current_page_elides_the_middle_and_disables_the_ends():
    first = str(pager(links(1), "Страницы"))
    assert '<nav class="pager" aria-label="Страницы">' in first
    assert '<span class="pager__link is-disabled" aria-hidden="true">‹</span>' in first
    assert '<span class="pager__link is-current" aria-current="page">1</span>' in first
    assert '<span class="pager__gap">…</span>' in first
    assert 'rel="next" aria-label="Следующая страница">›</a>' in first
    last = str(pager(links(20), "Страницы"))
    assert '<span class="pager__link is-disabled" aria-hidden="true">›</span>' in last
    assert 'rel="prev" aria-label="Предыдущая страница">‹</a>' in last


def test_pager_links_are_escaped_and_fetched_by_htmx_only_when_given_a_target():
    plain = str(pager(links(2), "Страницы"))
    assert 'href="/chats/?q=&lt;&amp;&gt;&amp;page=3"' in plain
    assert "hx-get" not in plain
    fetched = str(pager(links(2), "Страницы", "#chat-list", "outerHTML"))
    assert (
        'hx-get="/chats/?q=&lt;&amp;&gt;&amp;page=3" hx-target="#chat-list" '
        'hx-swap="outerHTML" hx-push-url="true"' in fetched
    )


def row(**fields):
    values = {
        "pk": 7,
        "full_name": 'Иванов "Кирилл" <b>',
        "student_group": None,
        "staff_position": None,
        "is_parent": False,
        "selected": False,
        "selected_admin": False,
    }
    return SimpleNamespace(**{**values, **fields})


def test_a_rows_roles_read_as_the_college_knows_the_person():
    assert role_label(row(staff_position="")) == "Сотрудник"
    assert (
        role_label(row(staff_position="Преподаватель", student_group="ИС-21", is_parent=True))
        == "Преподаватель, Обучающийся, ИС-21, Родитель"
    )
    assert role_label(row(is_parent=True)) == "Родитель"


def test_a_picker_row_carries_its_ticks_and_escapes_the_name():
    html = str(pick_row({"change_url": "/d/1/"}, row(selected=True, selected_admin=True)))
    assert '<li id="pick-7" class="pick is-selected">' in html
    assert 'name="selected" value="7" checked' in html
    assert 'name="admin" value="7" checked' in html
    assert "Иванов &quot;Кирилл&quot; &lt;b&gt;" in html and "<b>" not in html
    assert """hx-vals='{"action": "select", "person": "7"}\'""" in html
    unticked = str(pick_row({"change_url": "/d/1/"}, row()))
    assert "checked" not in unticked and 'class="pick"' in unticked

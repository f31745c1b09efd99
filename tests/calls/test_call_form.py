"""F20/F21: the create/edit form. A «Дисциплина» chat's call is named after the discipline,
offers only dates with lessons ahead and that date's lessons (updated by HTMX, or by a submit
without JavaScript), and starts with the lesson; any other chat's call has a name, a date and a
time. A refusal lands on its field and keeps what was typed."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from calls.models import OnlineCall
from tests import factories
from tests.calls.helpers import MSK, TODAY, TOMORROW, YESTERDAY, act, create, person_of

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def text(response):
    return " ".join(response.content.decode().split())


def options(html, select_id):
    """The (value, label, selected) of the select's options."""
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return [
        (value, label.strip(), bool(selected))
        for value, selected, label in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select
        )
    ]


@pytest.fixture
def teacher(client, college):
    client.force_login(person_of(college.teacher))
    return client


def new_url(chat):
    return reverse("calls:create", args=[chat.pk])


# «Дисциплина» (F20) ---------------------------------------------------------------------------


def test_a_discipline_calls_name_is_online_lesson_and_the_discipline(teacher, college):
    html = text(teacher.get(new_url(college.discipline_chat)))
    assert "Наименование звонка" in html
    assert 'name="title" value="Онлайн-занятие Информатика"' in html


def test_the_discipline_form_offers_only_dates_with_lessons_ahead(teacher, college):
    day_after = TODAY + dt.timedelta(days=3)
    factories.LessonFactory(
        teaching=college.informatics, date=day_after, start=dt.time(9), end=dt.time(10)
    )
    # Not offered: a past lesson, a cancelled one, another discipline's day.
    factories.LessonFactory(
        teaching=college.informatics, date=YESTERDAY, start=dt.time(9), end=dt.time(10)
    )
    factories.LessonFactory(
        teaching=college.informatics,
        date=TODAY + dt.timedelta(days=2),
        start=dt.time(9),
        end=dt.time(10),
        is_active=False,
    )
    factories.LessonFactory(
        teaching=college.mathematics,
        date=TODAY + dt.timedelta(days=4),
        start=dt.time(9),
        end=dt.time(10),
    )

    html = text(teacher.get(new_url(college.discipline_chat)))

    assert [value for value, _, _ in options(html, "call-date")] == [
        "",
        TODAY.isoformat(),
        TOMORROW.isoformat(),
        day_after.isoformat(),
    ]
    assert options(html, "call-date")[1][1] == "10.03.2026, вт — сегодня"
    assert options(html, "call-date")[2][1] == "11.03.2026, ср — завтра"


def test_today_is_offered_only_while_a_lesson_is_still_ahead(teacher, college, clock):
    clock.move_to(dt.datetime.combine(TODAY, dt.time(14, 30), tzinfo=MSK))
    html = text(teacher.get(new_url(college.discipline_chat)))
    assert [value for value, _, _ in options(html, "call-date")] == ["", TOMORROW.isoformat()]


def test_the_lesson_waits_for_a_date(teacher, college):
    html = text(teacher.get(new_url(college.discipline_chat)))
    assert '<select id="call-lesson" class="select call-field__control" disabled>' in html
    assert "Сначала выберите дату звонка" in html


def test_choosing_a_date_brings_that_dates_lessons_through_htmx(teacher, college):
    noon = factories.LessonFactory(
        teaching=college.informatics, date=TOMORROW, start=dt.time(12), end=dt.time(13, 30)
    )
    response = teacher.get(
        new_url(college.discipline_chat),
        {"date": TOMORROW.isoformat()},
        headers={**HTMX, "HX-Target": "call-lesson-field"},
    )
    html = text(response)
    assert html.startswith('<div id="call-lesson-field"')
    assert "<form" not in html and "<dialog" not in html
    # Informatics of that date only: the maths lesson at 10:10 belongs to another chat.
    assert options(html, "call-lesson") == [
        ("", "Выберите урок", False),
        (str(college.lesson_tomorrow.pk), "08:30–10:00 — Информатика", False),
        (str(noon.pk), "12:00–13:30 — Информатика", False),
    ]


def test_todays_lessons_under_way_are_not_offered(teacher, college):
    html = text(
        teacher.get(
            new_url(college.discipline_chat),
            {"date": TODAY.isoformat()},
            headers={**HTMX, "HX-Target": "call-lesson-field"},
        )
    )
    # 08:30 is under way at 10:00; the only lesson left, 14:00, is chosen by itself.
    assert options(html, "call-lesson") == [
        (str(college.lesson_today.pk), "14:00–15:30 — Информатика", True)
    ]


def test_without_javascript_a_submit_with_the_date_redraws_the_form_with_its_lessons(
    teacher, college
):
    response = teacher.post(
        new_url(college.discipline_chat),
        {"title": "Моё название", "date": TOMORROW.isoformat(), "show_lessons": "1"},
    )
    html = text(response)
    assert response.status_code == 200
    assert not OnlineCall.objects.exists()
    assert 'value="Моё название"' in html
    assert (TOMORROW.isoformat(), "11.03.2026, ср — завтра", True) in options(html, "call-date")
    assert options(html, "call-lesson") == [
        (str(college.lesson_tomorrow.pk), "08:30–10:00 — Информатика", True)
    ]
    assert "Показать уроки" in html  # inside <noscript>


def test_a_discipline_call_starts_with_the_chosen_lesson(teacher, college):
    response = teacher.post(
        new_url(college.discipline_chat),
        {"title": "", "date": TODAY.isoformat(), "lesson": college.lesson_today.pk},
    )
    assert response.status_code == 302
    call = OnlineCall.objects.get()
    assert call.title == "Онлайн-занятие Информатика"
    assert call.lesson == college.lesson_today
    assert call.starts_at == dt.datetime.combine(TODAY, dt.time(14), tzinfo=MSK)


def test_a_lesson_of_another_discipline_is_refused_on_the_lesson_field(teacher, college):
    response = teacher.post(
        new_url(college.discipline_chat),
        {
            "title": "Моё название",
            "date": TOMORROW.isoformat(),
            "lesson": college.maths_tomorrow.pk,
        },
    )
    html = text(response)
    assert response.status_code == 200
    assert (
        '<p id="call-lesson-error" class="field__error">Этот урок не из расписания группы по '
        "дисциплине этого чата.</p>"
    ) in html
    assert 'value="Моё название"' in html
    assert not OnlineCall.objects.exists()


def test_a_date_without_lessons_is_refused_on_the_date_field(teacher, college):
    date = TODAY + dt.timedelta(days=5)
    html = text(
        teacher.post(new_url(college.discipline_chat), {"title": "Урок", "date": date.isoformat()})
    )
    assert f"На {date:%d.%m.%Y} в расписании нет занятий этой группы по дисциплине." in html
    assert 'id="call-date-error"' in html
    assert not OnlineCall.objects.exists()


def test_a_lesson_that_does_not_exist_is_refused_on_the_lesson_field(teacher, college):
    html = text(
        teacher.post(
            new_url(college.discipline_chat),
            {"title": "Урок", "date": TOMORROW.isoformat(), "lesson": "999999"},
        )
    )
    assert "Такого урока нет в расписании: выберите урок из списка." in html
    assert not OnlineCall.objects.exists()


def test_a_discipline_chat_without_lessons_ahead_says_so(teacher, college):
    college.informatics.lessons.update(is_active=False)
    html = text(teacher.get(new_url(college.discipline_chat)))
    assert "В «Расписании» нет предстоящих занятий группы ИС-11 по дисциплине «Информатика»" in html


def test_editing_a_discipline_call_shows_its_date_and_lesson(teacher, college):
    call = create(college, chat=college.discipline_chat, by=college.teacher, title="Урок 5")
    html = text(teacher.get(reverse("calls:edit", args=[call.pk])))
    assert "Редактирование онлайн-звонка" in html
    assert 'value="Урок 5"' in html
    assert (TOMORROW.isoformat(), "11.03.2026, ср — завтра", True) in options(html, "call-date")
    assert (str(college.lesson_tomorrow.pk), "08:30–10:00 — Информатика", True) in options(
        html, "call-lesson"
    )


def test_editing_a_discipline_call_moves_it_to_another_lesson(teacher, college):
    call = create(college, chat=college.discipline_chat, by=college.teacher)
    teacher.post(
        reverse("calls:edit", args=[call.pk]),
        {"title": "Перенесён", "date": TODAY.isoformat(), "lesson": college.lesson_today.pk},
    )
    call.refresh_from_db()
    assert (call.title, call.lesson, call.starts_at) == (
        "Перенесён",
        college.lesson_today,
        dt.datetime.combine(TODAY, dt.time(14), tzinfo=MSK),
    )
    assert call.last_actor == person_of(college.teacher)


# Any other chat (F21) -------------------------------------------------------------------------


@pytest.fixture
def curator(client, college):
    client.force_login(person_of(college.curator))
    return client


def test_another_chats_form_asks_name_date_and_time(curator, college):
    html = text(curator.get(new_url(college.group_chat)))
    assert "Наименование звонка" in html and "Дата звонка" in html and "Время звонка" in html
    assert 'name="title" value=""' in html
    assert f'type="date" name="date" value="" min="{TODAY.isoformat()}"' in html
    assert 'type="time" name="time"' in html
    assert "Урок в расписании" not in html
    assert ">Сохранить</button>" in html and ">Отменить</a>" in html


def test_another_chats_call_starts_at_the_date_and_time_given(curator, college):
    response = curator.post(
        new_url(college.group_chat),
        {"title": "Классный час", "date": TOMORROW.isoformat(), "time": "15:45"},
    )
    assert response.status_code == 302
    call = OnlineCall.objects.get()
    assert call.starts_at == dt.datetime.combine(TOMORROW, dt.time(15, 45), tzinfo=MSK)
    assert call.lesson is None


def test_another_chats_call_needs_a_name(curator, college):
    html = text(
        curator.post(
            new_url(college.group_chat),
            {"title": " ", "date": TOMORROW.isoformat(), "time": "15:45"},
        )
    )
    assert '<p id="call-title-error" class="field__error">Укажите наименование звонка.</p>' in html
    assert f'value="{TOMORROW.isoformat()}"' in html and 'value="15:45"' in html
    assert not OnlineCall.objects.exists()


def test_a_past_date_is_refused_on_the_date_field(curator, college):
    html = text(
        curator.post(
            new_url(college.group_chat),
            {"title": "Классный час", "date": YESTERDAY.isoformat(), "time": "15:45"},
        )
    )
    assert "Дата звонка уже прошла: выберите сегодняшнюю или более позднюю." in html
    assert 'id="call-date-error"' in html
    assert 'value="Классный час"' in html
    assert not OnlineCall.objects.exists()


def test_a_time_already_past_today_is_refused_on_the_time_field(curator, college):
    html = text(
        curator.post(
            new_url(college.group_chat),
            {"title": "Классный час", "date": TODAY.isoformat(), "time": "09:00"},
        )
    )
    assert "Время звонка 09:00 сегодня уже прошло." in html
    assert 'id="call-time-error"' in html


def test_a_missing_time_is_refused_on_the_time_field(curator, college):
    html = text(
        curator.post(new_url(college.group_chat), {"title": "Час", "date": TOMORROW.isoformat()})
    )
    assert '<p id="call-time-error" class="field__error">Укажите время звонка.</p>' in html


def test_an_unreadable_date_is_refused_not_crashed_on(curator, college):
    response = curator.post(
        new_url(college.group_chat), {"title": "Час", "date": "31.02.2026", "time": "25:00"}
    )
    assert response.status_code == 200
    assert 'id="call-date-error"' in response.text
    assert not OnlineCall.objects.exists()


def test_editing_another_chats_call_shows_its_date_and_time_by_the_colleges_clock(curator, college):
    call = create(college, chat=college.group_chat, by=college.curator, time=dt.time(7, 5))
    html = text(curator.get(reverse("calls:edit", args=[call.pk])))
    assert f'value="{TOMORROW.isoformat()}"' in html
    assert 'value="07:05"' in html


def test_an_unchanged_edit_changes_nothing(curator, college):
    call = create(college, chat=college.group_chat, by=college.admin, title="Час")
    curator.post(
        reverse("calls:edit", args=[call.pk]),
        {"title": "Час", "date": TOMORROW.isoformat(), "time": "12:00"},
    )
    call.refresh_from_db()
    assert call.last_actor == person_of(college.admin)


def test_only_a_created_call_opens_the_form(curator, college):
    call = act("publish", create(college, chat=college.group_chat), college.admin)
    html = text(curator.get(reverse("calls:edit", args=[call.pk])))
    assert "Этот звонок сейчас в статусе «Опубликован»." in html
    assert '<form id="call-form"' not in html

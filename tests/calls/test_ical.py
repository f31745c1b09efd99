"""B6: the calendar feed (RFC 5545) by a private token, and its reset from the profile."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from calls import ical
from calls.models import CalendarToken
from tests import factories
from tests.calls.helpers import MSK, TOMORROW, chat


def feed_url(token):
    return reverse("calls:calendar_feed", args=[token.token])


@pytest.fixture
def teacher_calls(college):
    """Calls of the teacher's «Дисциплина» chat and of chats they are not in."""
    at_noon = dt.datetime.combine(TOMORROW, dt.time(12, 0), tzinfo=MSK)
    published = factories.CallFactory(
        chat=college.discipline_chat,
        status="published",
        title="Разбор, контрольной; задачи \\ часть 1\nвторая строка",
        starts_at=at_noon,
    )
    finished = factories.CallFactory(
        chat=college.discipline_chat, status="finished", starts_at=at_noon - dt.timedelta(days=2)
    )
    unpublished = factories.CallFactory(chat=college.discipline_chat, status="created")
    deleted = factories.CallFactory(
        chat=college.discipline_chat, status="finished", deleted_at=at_noon
    )
    elsewhere = factories.CallFactory(chat=college.custom_chat, status="published")
    dead_chat = chat(college.org, "custom", "Закрытый", admins=[college.teacher])
    dead_chat.deleted_at = at_noon
    dead_chat.save(update_fields=["deleted_at"])
    in_dead_chat = factories.CallFactory(chat=dead_chat, status="published")
    return locals()


@pytest.fixture
def token(college):
    return ical.calendar_token_reset(person=college.teacher.person)


def get_feed(client, token):
    response = client.get(feed_url(token))
    assert response.status_code == 200
    return response.content.decode("utf-8")


def unfold(body):
    return body.replace("\r\n ", "")


def test_feed_is_valid_icalendar_with_crlf_endings(client, token, teacher_calls):
    body = get_feed(client, token)
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert body.endswith("END:VCALENDAR\r\n")
    assert "\n" not in body.replace("\r\n", "")
    lines = unfold(body).split("\r\n")[:-1]
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 2
    for line in lines:
        assert re.match(r"^[A-Z-]+[;:]", line), line


def test_every_line_is_folded_at_75_octets(client, token, teacher_calls):
    body = get_feed(client, token)
    for line in body.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    assert "\r\n " in body


def test_folding_never_splits_a_cyrillic_character():
    line = "SUMMARY:" + "Ж" * 100
    folded = ical.fold(line)
    for part in folded.split("\r\n"):
        part.encode("utf-8").decode("utf-8")
        assert len(part.encode("utf-8")) <= 75
    assert folded.replace("\r\n ", "") == line


def test_text_is_escaped():
    assert ical.escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


def test_event_carries_utc_start_stable_uid_summary_description_and_url(
    client, token, teacher_calls, college
):
    call = teacher_calls["published"]
    body = unfold(get_feed(client, token))
    assert f"UID:call-{call.pk}@{ical.UID_DOMAIN}" in body
    # 12:00 in Moscow is 09:00 UTC.
    assert f"DTSTART:{TOMORROW:%Y%m%d}T090000Z" in body
    assert re.search(r"DTSTAMP:\d{8}T\d{6}Z", body)
    assert "SUMMARY:Разбор\\, контрольной\\; задачи \\\\ часть 1\\nвторая строка" in body
    assert "DESCRIPTION:Онлайн-звонок в чате «Информатика ИС-11»" in body
    assert f"URL:http://testserver{reverse('calls:join', args=[call.pk])}" in body
    assert get_feed(client, token).count(f"call-{call.pk}@") == 1
    # The same call keeps its UID across fetches.
    assert f"UID:call-{call.pk}@" in unfold(get_feed(client, token))


def test_only_the_persons_published_calls_are_in_the_feed(client, token, teacher_calls):
    body = unfold(get_feed(client, token))
    uids = set(re.findall(r"UID:call-(\d+)@", body))
    assert uids == {str(teacher_calls["published"].pk), str(teacher_calls["finished"].pk)}


def test_a_student_of_the_chat_gets_its_calls_and_an_outsider_none(client, college, teacher_calls):
    student = ical.calendar_token_reset(person=college.student.person)
    outsider = ical.calendar_token_reset(person=college.outsider.person)
    student_uids = set(re.findall(r"UID:call-(\d+)@", unfold(get_feed(client, student))))
    assert str(teacher_calls["published"].pk) in student_uids
    assert str(teacher_calls["elsewhere"].pk) in student_uids
    assert "BEGIN:VEVENT" not in get_feed(client, outsider)


def test_the_feed_needs_no_session(client, token, teacher_calls):
    client.logout()
    response = client.get(feed_url(token))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"


def test_an_unknown_token_is_404(client, db):
    assert client.get(reverse("calls:calendar_feed", args=["nope"])).status_code == 404


def test_resetting_the_token_stops_the_old_url(client, college, token):
    old = token.token
    client.force_login(college.teacher.person)
    response = client.post(reverse("calls:calendar_reset"))
    assert response.status_code == 302
    new = CalendarToken.objects.get(person=college.teacher.person)
    assert new.token != old
    client.logout()
    assert client.get(reverse("calls:calendar_feed", args=[old])).status_code == 404
    assert client.get(feed_url(new)).status_code == 200


def test_the_profile_page_shows_the_url_and_creates_the_first_token(client, college):
    client.force_login(college.student.person)
    page = client.get(reverse("calls:calendar")).content.decode()
    assert "Создать ссылку" in page
    assert not CalendarToken.objects.filter(person=college.student.person).exists()
    client.post(reverse("calls:calendar_reset"))
    token = CalendarToken.objects.get(person=college.student.person)
    page = client.get(reverse("calls:calendar")).content.decode()
    assert f"http://testserver{feed_url(token)}" in page


def test_reset_is_post_only(client, college):
    client.force_login(college.student.person)
    assert client.get(reverse("calls:calendar_reset")).status_code == 405


def test_a_deactivated_person_has_no_feed(client, college, token):
    college.teacher.person.is_active = False
    college.teacher.person.save(update_fields=["is_active"])
    assert client.get(feed_url(token)).status_code == 404


def test_a_lesson_bound_call_ends_with_its_lesson(college):
    lesson = college.lesson_tomorrow
    start = dt.datetime.combine(lesson.date, lesson.start, tzinfo=MSK)
    call = factories.CallFactory(
        chat=college.discipline_chat, status="published", starts_at=start, lesson=lesson
    )
    lines = ical.event_lines(call, "http://x/")
    assert f"DTEND:{lesson.date:%Y%m%d}T070000Z" in lines

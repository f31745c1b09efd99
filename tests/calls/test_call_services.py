"""F20, F21, F23: creating, editing and publishing calls — the seed's texts, the rules of a
«Дисциплина» chat and of every other chat, the audit log and the hand-off to the messenger."""

import datetime as dt
import zoneinfo

import pytest

from calls import services
from calls.models import OnlineCall
from calls.services import CallError
from epos_chats.models import AuditEvent
from tests import factories
from tests.calls.helpers import MSK, NOW, TODAY, TOMORROW, YESTERDAY, act, chat, create

pytestmark = pytest.mark.django_db


def refused(field, match=None):
    """The CallError expected: its form field, and a piece of its message."""

    class Expect:
        def __enter__(self):
            self.raises = pytest.raises(CallError, match=match)
            self.info = self.raises.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.raises.__exit__(*exc)
            assert self.info.value.field == field, self.info.value.message
            return handled

    return Expect()


# The seed's texts ---------------------------------------------------------------------------


def test_the_warning_about_a_published_call_is_the_seeds():
    assert services.ALREADY_PUBLISHED == (
        "Внимание! В чате создан онлайн-звонок со статусом «Опубликован». Для создания нового "
        "онлайн-звонка необходимо завершить опубликованный звонок"
    )


def test_the_statuses_are_named_as_in_the_seed():
    assert OnlineCall.Status.labels == ["Создан", "Опубликован", "Завершён"]


def test_publishing_says_the_call_was_published():
    assert services.MESSAGE_PUBLISHED == "Онлайн-звонок опубликован"


# Publishing (F23) -----------------------------------------------------------------------------


def test_publishing_a_created_call_makes_it_published(college):
    call = act("publish", create(college), college.admin)
    call.refresh_from_db()
    assert call.status == "published"
    assert call.published_at == NOW


def test_a_chat_with_a_published_call_gets_the_seeds_warning_and_nothing_changes(college):
    first = act("publish", create(college, title="Первый"), college.admin)
    second = create(college, title="Второй")
    events = AuditEvent.objects.count()
    with pytest.raises(CallError) as warning:
        act("publish", second, college.curator)
    assert str(warning.value) == services.ALREADY_PUBLISHED
    second.refresh_from_db()
    assert (second.status, second.published_at, second.last_actor) == (
        "created",
        None,
        college.admin.person,
    )
    assert AuditEvent.objects.count() == events
    assert list(OnlineCall.objects.published()) == [first]


def test_a_finished_call_does_not_stop_the_next_from_being_published(college):
    act("finish", act("publish", create(college), college.admin), college.admin)
    assert act("publish", create(college), college.admin).status == "published"


def test_a_deleted_published_call_does_not_stop_the_next_from_being_published(college):
    act("delete", act("publish", create(college), college.admin), college.admin)
    assert act("publish", create(college), college.admin).status == "published"


def test_a_published_call_in_another_chat_does_not_matter(college):
    act("publish", create(college, chat=college.group_chat), college.admin)
    assert act("publish", create(college), college.admin).status == "published"


def test_the_unique_index_gives_the_seeds_warning_when_the_check_is_passed_by(college, monkeypatch):
    """Two publishes that both passed the check (the race the chat lock prevents) meet the
    partial unique index, and the loser gets the same warning, not an error page."""
    act("publish", create(college), college.admin)
    second = create(college)
    monkeypatch.setattr(services, "_chat_has_published_call", lambda chat, besides: False)
    with pytest.raises(CallError) as warning:
        act("publish", second, college.admin)
    assert str(warning.value) == services.ALREADY_PUBLISHED
    second.refresh_from_db()
    assert second.status == "created"
    assert OnlineCall.objects.published().count() == 1


def test_finishing_a_published_call_makes_it_finished(college):
    call = act("finish", act("publish", create(college), college.admin), college.curator)
    call.refresh_from_db()
    assert (call.status, call.finished_at, call.last_actor) == (
        "finished",
        NOW,
        college.curator.person,
    )


# «Дисциплина» chats (F20) ----------------------------------------------------------------------


def test_a_discipline_call_is_named_after_the_discipline_by_default(college):
    call = create(college, chat=college.discipline_chat, title="")
    assert call.title == "Онлайн-занятие Информатика"


def test_a_blank_name_in_a_discipline_chat_also_takes_the_default(college):
    call = create(college, chat=college.discipline_chat, title="   ")
    assert call.title == "Онлайн-занятие Информатика"


def test_the_default_name_is_offered_for_the_form(college):
    assert services.default_title(college.discipline_chat) == "Онлайн-занятие Информатика"
    assert services.default_title(college.custom_chat) == ""


def test_the_default_name_of_a_discipline_call_can_be_changed(college):
    call = create(college, chat=college.discipline_chat, title="  Онлайн-урок Информатика ")
    assert call.title == "Онлайн-урок Информатика"


def test_a_discipline_call_starts_with_its_lesson(college):
    call = create(college, chat=college.discipline_chat, date=TODAY, lesson=college.lesson_today)
    assert call.starts_at == dt.datetime(2026, 3, 10, 14, 0, tzinfo=MSK)
    assert call.lesson == college.lesson_today


def test_a_discipline_call_starts_at_the_lesson_time_of_the_colleges_own_clock(college):
    college.org.time_zone = "Asia/Novosibirsk"
    college.org.save()
    call = create(college, chat=college.discipline_chat)
    novosibirsk = zoneinfo.ZoneInfo("Asia/Novosibirsk")
    assert call.starts_at == dt.datetime(2026, 3, 11, 8, 30, tzinfo=novosibirsk)
    assert call.starts_at == dt.datetime(2026, 3, 11, 4, 30, tzinfo=MSK)


def test_the_time_given_for_a_discipline_call_is_not_used(college):
    call = create(college, chat=college.discipline_chat, time=dt.time(23, 0))
    assert call.starts_at == dt.datetime(2026, 3, 11, 8, 30, tzinfo=MSK)


def test_the_schedulable_lessons_are_the_active_lessons_of_the_chats_teaching(college):
    factories.LessonFactory(
        teaching=college.informatics,
        date=TOMORROW,
        start=dt.time(12),
        end=dt.time(13),
        is_active=False,
    )
    assert set(services.schedulable_lessons(college.discipline_chat)) == {
        college.lesson_under_way,
        college.lesson_today,
        college.lesson_tomorrow,
    }
    assert not services.schedulable_lessons(college.custom_chat).exists()


def test_a_date_without_lessons_of_the_discipline_is_refused(college):
    with refused("date", "нет занятий этой группы по дисциплине"):
        create(college, chat=college.discipline_chat, date=TODAY + dt.timedelta(days=2))


def test_a_date_with_lessons_of_another_discipline_only_is_refused(college):
    college.lesson_tomorrow.delete()  # tomorrow only Математика is left
    with refused("date", "нет занятий"):
        create(college, chat=college.discipline_chat, lesson=college.maths_tomorrow)


def test_a_date_whose_lessons_were_cancelled_is_refused(college):
    college.lesson_tomorrow.is_active = False
    college.lesson_tomorrow.save()
    with refused("date", "нет занятий"):
        create(college, chat=college.discipline_chat)


def test_a_discipline_call_needs_a_lesson(college):
    with refused("lesson", "Выберите урок в расписании"):
        create(college, chat=college.discipline_chat, lesson=None)


def test_a_lesson_of_another_group_by_discipline_is_refused(college):
    with refused("lesson", "не из расписания группы по дисциплине этого чата"):
        create(college, chat=college.discipline_chat, lesson=college.maths_tomorrow)
    assert not OnlineCall.objects.exists()


def test_a_lesson_of_another_date_is_refused(college):
    with refused("lesson", "не на 10.03.2026"):
        create(college, chat=college.discipline_chat, date=TODAY, lesson=college.lesson_tomorrow)


def test_a_lesson_that_has_already_begun_today_is_refused(college):
    with refused("lesson", "08:30 сегодня уже прошло"):
        create(college, chat=college.discipline_chat, date=TODAY, lesson=college.lesson_under_way)


def test_a_past_date_is_refused_in_a_discipline_chat(college):
    past = factories.LessonFactory(teaching=college.informatics, date=YESTERDAY)
    with refused("date", "Дата звонка уже прошла"):
        create(college, chat=college.discipline_chat, date=YESTERDAY, lesson=past)


# Every other chat (F21) -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["custom_chat", "group_chat", "teachers_chat"])
def test_a_call_in_another_chat_starts_at_its_date_and_time(college, kind):
    call = create(
        college, chat=getattr(college, kind), date=TOMORROW, time=dt.time(18, 45), title="Сбор"
    )
    assert call.starts_at == dt.datetime(2026, 3, 11, 18, 45, tzinfo=MSK)
    assert (call.title, call.status, call.lesson) == ("Сбор", "created", None)


def test_the_date_and_time_are_read_in_the_colleges_own_clock(college):
    college.org.time_zone = "Asia/Yekaterinburg"
    college.org.save()
    call = create(college, time=dt.time(12, 0))
    assert call.starts_at == dt.datetime(2026, 3, 11, 10, 0, tzinfo=MSK)


@pytest.mark.parametrize("title", ["", "   ", None, "\t\n"])
def test_a_call_in_another_chat_needs_a_name(college, title):
    with refused("title", "Укажите наименование звонка"):
        create(college, title=title)


def test_the_name_is_stripped(college):
    assert create(college, title="  Родительское собрание  ").title == "Родительское собрание"


def test_a_name_of_255_characters_is_accepted(college):
    assert len(create(college, title="я" * 255).title) == 255


def test_a_name_of_256_characters_is_refused(college):
    with refused("title", "не длиннее 255 символов"):
        create(college, title="я" * 256)


def test_a_name_of_256_characters_is_refused_in_a_discipline_chat_too(college):
    with refused("title", "не длиннее 255 символов"):
        create(college, chat=college.discipline_chat, title="я" * 256)


def test_a_call_needs_a_date(college):
    with refused("date", "Укажите дату звонка"):
        create(college, date=None)


def test_a_call_in_another_chat_needs_a_time(college):
    with refused("time", "Укажите время звонка"):
        create(college, time=None)


def test_a_date_in_the_past_is_refused(college):
    with refused("date", "Дата звонка уже прошла"):
        create(college, date=YESTERDAY)


def test_a_time_already_past_today_is_refused(college):
    with refused("time", "Время звонка 09:59 сегодня уже прошло"):
        create(college, date=TODAY, time=dt.time(9, 59))


def test_a_time_later_today_is_accepted(college):
    call = create(college, date=TODAY, time=dt.time(10, 0))
    assert call.starts_at == NOW


def test_today_is_the_colleges_today(college, clock):
    """At 23:30 in Moscow it is already tomorrow in Novosibirsk: yesterday is refused there."""
    clock.move_to(dt.datetime(2026, 3, 10, 23, 30, tzinfo=MSK))
    college.org.time_zone = "Asia/Novosibirsk"
    college.org.save()
    with refused("date", "уже прошла"):
        create(college, date=TODAY, time=dt.time(23, 59))


def test_a_lesson_is_refused_for_a_chat_that_is_not_a_discipline_chat(college):
    with refused("lesson", "только для чата типа «Дисциплина»"):
        create(college, lesson=college.lesson_tomorrow)


def test_a_call_cannot_be_created_in_a_deleted_chat(college):
    college.custom_chat.deleted_at = NOW
    college.custom_chat.save()
    with pytest.raises(CallError, match="Чат «Кружок КПТ» удалён"):
        create(college)


# Editing --------------------------------------------------------------------------------------


def test_editing_changes_the_name_date_and_time(college):
    call = create(college)
    act("update", call, college.curator, title="Новое", date=TODAY, time=dt.time(19, 0))
    call.refresh_from_db()
    assert (call.title, call.starts_at, call.last_actor) == (
        "Новое",
        dt.datetime(2026, 3, 10, 19, 0, tzinfo=MSK),
        college.curator.person,
    )


def test_editing_a_discipline_call_moves_it_to_another_lesson(college):
    call = create(college, chat=college.discipline_chat)
    act(
        "update",
        call,
        college.teacher,
        title=call.title,
        date=TODAY,
        lesson=college.lesson_today,
    )
    call.refresh_from_db()
    assert (call.lesson, call.starts_at) == (
        college.lesson_today,
        dt.datetime(2026, 3, 10, 14, 0, tzinfo=MSK),
    )


def test_editing_keeps_the_rules_of_creation(college):
    call = create(college, chat=college.discipline_chat)
    with refused("lesson", "не из расписания"):
        act(
            "update",
            call,
            college.admin,
            title="",
            date=TOMORROW,
            lesson=college.maths_tomorrow,
        )
    call.refresh_from_db()
    assert call.lesson == college.lesson_tomorrow


def test_an_edit_that_changes_nothing_writes_nothing(college, clock):
    call = create(college)
    clock.shift(dt.timedelta(minutes=1))
    act("update", call, college.curator, title=call.title, date=TOMORROW, time=dt.time(12))
    call.refresh_from_db()
    assert (call.changed_at, call.last_actor) == (NOW, college.admin.person)
    assert AuditEvent.objects.count() == 1


# Audit and the messenger ----------------------------------------------------------------------


def test_every_action_is_in_the_audit_log_with_before_and_after(college, clock):
    call = create(college, title="Собрание")
    clock.shift(dt.timedelta(minutes=1))
    act("update", call, college.curator, title="Собрание группы", date=TOMORROW, time=dt.time(13))
    act("publish", call, college.curator)
    act("finish", call, college.admin)
    act("delete", call, college.curator)
    events = list(AuditEvent.objects.order_by("pk"))
    assert [(e.action, e.actor.login, e.object_type, e.object_id) for e in events] == [
        ("call_created", "admin", "onlinecall", call.pk),
        ("call_updated", "curator", "onlinecall", call.pk),
        ("call_published", "curator", "onlinecall", call.pk),
        ("call_finished", "admin", "onlinecall", call.pk),
        ("call_deleted", "curator", "onlinecall", call.pk),
    ]
    assert {e.organization for e in events} == {college.org}
    created, updated, published, finished, deleted = events
    assert created.before == {}
    assert created.after == {
        "title": "Собрание",
        "starts_at": "2026-03-11T09:00:00+00:00",
        "lesson": None,
        "status": "created",
        "deleted": False,
    }
    assert updated.before == created.after
    assert (updated.after["title"], updated.after["starts_at"]) == (
        "Собрание группы",
        "2026-03-11T10:00:00+00:00",
    )
    assert (published.before["status"], published.after["status"]) == ("created", "published")
    assert (finished.before["status"], finished.after["status"]) == ("published", "finished")
    assert (deleted.before["deleted"], deleted.after["deleted"]) == (False, True)
    assert deleted.after["status"] == "finished"
    assert (
        str(deleted)
        == f"{college.curator.person.short_name} удалил онлайн-звонок «Собрание группы»"
    )


def test_the_last_actor_is_whoever_acted_last(college):
    call = create(college, by=college.admin)
    assert (call.created_by, call.last_actor) == (college.admin.person, college.admin.person)
    act("publish", call, college.curator)
    call.refresh_from_db()
    assert (call.created_by, call.last_actor) == (college.admin.person, college.curator.person)


@pytest.mark.parametrize("action", ["publish", "finish", "delete"])
def test_each_change_moves_changed_at_for_the_push(college, clock, action):
    call = create(college)
    if action == "finish":
        act("publish", call, college.admin)
    clock.shift(dt.timedelta(minutes=7))
    act(action, call, college.admin)
    call.refresh_from_db()
    assert call.changed_at == NOW + dt.timedelta(minutes=7)


def test_every_change_goes_to_the_messenger_once_committed(
    college, django_capture_on_commit_callbacks, monkeypatch, settings
):
    from vk_sync.tasks import push_call_task

    settings.VK_SYNC_ENABLED = True
    pushed = []
    monkeypatch.setattr(push_call_task, "delay", pushed.append)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call = create(college)
        act("publish", call, college.admin)
        act("finish", call, college.admin)
        act("delete", call, college.admin)
    assert len(callbacks) == 4
    assert pushed == [call.pk] * 4


def test_a_refused_change_goes_nowhere(college, django_capture_on_commit_callbacks):
    call = create(college)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(CallError):
        act("finish", call, college.admin)
    assert callbacks == []


def test_the_other_colleges_chat_is_untouched_by_all_this(college):
    create(college)
    assert not chat(college.other_org, "custom", "Пусто").calls.exists()

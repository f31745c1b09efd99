"""The create/edit form of an online call (F20, F21).

The form only reads what was sent; the rules (dates with lessons, a lesson of this chat, no
past dates, a name) are `calls.services`', whose `CallError` lands on the field it names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.utils import timezone
from django.utils.functional import cached_property

from calls import selectors
from calls.models import OnlineCall
from calls.services import TITLE_MAX, CallError, default_title
from directory.models import Lesson
from epos_chats.models import Chat

WEEKDAYS = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    selected: bool


def date_label(date: dt.date, today: dt.date) -> str:
    """«11.03.2026, ср» — and «сегодня» / «завтра» where it helps."""
    label = f"{date:%d.%m.%Y}, {WEEKDAYS[date.weekday()]}"
    if date == today:
        return f"{label} — сегодня"
    if date == today + dt.timedelta(days=1):
        return f"{label} — завтра"
    return label


def lesson_label(lesson: Lesson) -> str:
    """«08:30–10:00 — Информатика», as the seed's «Урок в расписании» shows a lesson."""
    return f"{lesson.start:%H:%M}–{lesson.end:%H:%M} — {lesson.teaching.discipline.name}"


class CallForm(forms.Form):
    title = forms.CharField(label="Наименование звонка", required=False, strip=True)
    date = forms.DateField(
        label="Дата звонка", required=False, input_formats=["%Y-%m-%d", "%d.%m.%Y"]
    )
    # F20: a «Дисциплина» chat's call starts with a lesson of its schedule...
    lesson = forms.IntegerField(label="Урок в расписании", required=False, min_value=1)
    # F21: ...any other chat's at the time given.
    time = forms.TimeField(
        label="Время звонка", required=False, input_formats=["%H:%M", "%H:%M:%S"]
    )

    title_max = TITLE_MAX

    def __init__(
        self,
        data=None,
        *,
        chat: Chat,
        now: dt.datetime,
        call: OnlineCall | None = None,
        initial: dict | None = None,
    ):
        if initial is None:
            initial = self.initial_of(chat, call)
        super().__init__(data, initial=initial)
        self.chat, self.now, self.call = chat, now, call
        self.by_lesson = chat.kind == Chat.Kind.DISCIPLINE
        del self.fields["time" if self.by_lesson else "lesson"]

    @staticmethod
    def initial_of(chat: Chat, call: OnlineCall | None) -> dict:
        """What the form shows first: the call's values, or the default name of a new one."""
        if call is None:
            return {"title": default_title(chat)}
        starts_at = timezone.localtime(call.starts_at, chat.organization.zone)
        return {
            "title": call.title,
            "date": starts_at.date(),
            "time": starts_at.time().replace(second=0, microsecond=0),
            "lesson": call.lesson_id,
        }

    # What the template shows ------------------------------------------------------------------

    @property
    def today(self) -> dt.date:
        return timezone.localdate(self.now, self.chat.organization.zone)

    def _raw(self, name: str):
        """The field's value as sent, or its initial value: never an error on the way."""
        return self[name].value()

    @cached_property
    def chosen_date(self) -> dt.date | None:
        value = self._raw("date")
        if isinstance(value, dt.date):
            return value
        try:
            return self.fields["date"].to_python(value)
        except forms.ValidationError:
            return None

    @cached_property
    def chosen_lesson(self) -> int | None:
        value = self._raw("lesson")
        try:
            return int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    @cached_property
    def date_options(self) -> list[Option]:
        """F20: only dates with lessons of the group-by-discipline ahead."""
        chosen = self.chosen_date
        return [
            Option(date.isoformat(), date_label(date, self.today), date == chosen)
            for date in selectors.lesson_dates(self.chat, self.now)
        ]

    @cached_property
    def lesson_options(self) -> list[Option]:
        """F20: the chosen date's lessons; the only one is chosen by itself."""
        lessons = selectors.lessons_on(self.chat, self.chosen_date, self.now)
        chosen = self.chosen_lesson
        if chosen not in {lesson.pk for lesson in lessons}:
            chosen = lessons[0].pk if len(lessons) == 1 else None
        return [
            Option(str(lesson.pk), lesson_label(lesson), lesson.pk == chosen) for lesson in lessons
        ]

    @property
    def time_value(self) -> str:
        value = self._raw("time")
        if isinstance(value, dt.time):
            return f"{value:%H:%M}"
        return value or ""

    @property
    def date_value(self) -> str:
        value = self._raw("date")
        if isinstance(value, dt.date):
            return value.isoformat()
        return value or ""

    # What the service gets --------------------------------------------------------------------

    def clean_lesson(self) -> Lesson | None:
        lesson_id = self.cleaned_data.get("lesson")
        if lesson_id is None:
            return None
        # Any lesson by its id: whether it is one of this chat's is the service's rule.
        lesson = Lesson.objects.filter(pk=lesson_id).first()
        if lesson is None:
            raise forms.ValidationError("Такого урока нет в расписании: выберите урок из списка.")
        return lesson

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {"title": data.get("title"), "date": data.get("date")}
        if self.by_lesson:
            arguments["lesson"] = data.get("lesson")
        else:
            arguments["time"] = data.get("time")
        return arguments

    def add_call_error(self, error: CallError) -> None:
        """The service's refusal, next to the field it is about, or above the form."""
        field = error.field if error.field in self.fields else None
        self.add_error(field, error.message)

"""B4, the reader's side: the college's audit log filtered by person, chat, action and dates."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.db.models import Q, QuerySet

from calls.models import OnlineCall
from directory.models import Organization, Person
from epos_chats.models import AuditEvent, Chat

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    person = forms.ModelChoiceField(
        label="Кто", queryset=Person.objects.none(), required=False, empty_label="Все"
    )
    chat = forms.ModelChoiceField(
        label="Чат", queryset=Chat.objects.none(), required=False, empty_label="Все"
    )
    action = forms.ChoiceField(
        label="Действие",
        choices=[("", "Все"), *AuditEvent.Action.choices],
        required=False,
    )
    date_from = forms.DateField(
        label="С", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="По", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        # Only people who did something in the college, and its chats (deleted ones too:
        # the log is where one looks for what happened to them).
        acted = AuditEvent.objects.filter(organization=organization).values("actor_id")
        self.fields["person"].queryset = Person.objects.filter(pk__in=acted)
        self.fields["chat"].queryset = Chat.objects.filter(organization=organization).order_by(
            "title", "pk"
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("Дата «С» позже даты «По».")
        return data


def events(
    organization: Organization,
    *,
    person: Person | None = None,
    chat: Chat | None = None,
    action: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet:
    """The college's events, newest first; dates are days on the college's clock."""
    rows = AuditEvent.objects.filter(organization=organization).select_related("actor")
    if person is not None:
        rows = rows.filter(actor=person)
    if chat is not None:
        # The chat's own events and those of its calls.
        calls = OnlineCall.objects.filter(chat=chat).values("pk")
        rows = rows.filter(
            Q(object_type=Chat._meta.model_name, object_id=chat.pk)
            | Q(object_type=OnlineCall._meta.model_name, object_id__in=calls)
        )
    if action:
        rows = rows.filter(action=action)
    zone = organization.zone
    if date_from:
        rows = rows.filter(at__gte=_midnight(date_from, zone))
    if date_to:
        rows = rows.filter(at__lt=_midnight(date_to + dt.timedelta(days=1), zone))
    return rows.order_by("-at", "-pk")


def _midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone)

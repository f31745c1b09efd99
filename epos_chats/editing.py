"""Reads for the pages that create and edit chats (F14–F17): the name a «Произвольный чат»
will get, the groups-by-discipline a person may make a chat of, and what that chat will hold."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from directory.models import Organization, StaffMember, Teaching
from directory.selectors import Roles
from epos_chats.models import Chat
from epos_chats.services import discipline_chat_title


def final_title(title: str, organization: Organization, *, add_short_name: bool) -> str:
    """F15: the name as it will be saved — the typed one with the college's short name
    appended (unless already there). Empty while nothing is typed: a short name alone is
    not a chat's name."""
    title = " ".join((title or "").split())
    short_name = (organization.short_name or "").strip()
    if not title or not add_short_name or not short_name:
        return title
    if title.casefold().endswith(short_name.casefold()):
        return title
    return f"{title} {short_name}"


def teaching_options(organization: Organization, roles: Roles) -> QuerySet[Teaching]:
    """F16: what the «Дисциплина» select offers — a teacher their own active
    groups-by-discipline, an OO admin every one of the college; each says whether it already
    has a live chat and whether it is a subgroup. Three queries with the teachers."""
    teachings = Teaching.objects.filter(organization=organization, is_active=True)
    if not roles.is_admin:
        if roles.staff is None:
            return teachings.none()
        teachings = teachings.filter(teachers=roles.staff)
    return (
        teachings.select_related("group", "discipline")
        .annotate(
            has_chat=Exists(
                Chat.objects.alive().filter(kind=Chat.Kind.DISCIPLINE, teaching=OuterRef("pk"))
            ),
            has_subgroup=Exists(Teaching.students.through.objects.filter(teaching=OuterRef("pk"))),
        )
        .prefetch_related(
            Prefetch(
                "teachers",
                queryset=StaffMember.objects.select_related("person").order_by(
                    "person__last_name", "person__first_name", "pk"
                ),
            )
        )
        .order_by("group__course", "group__name", "discipline__name", "pk")
    )


@dataclass(frozen=True)
class DisciplinePreview:
    """What «Создать чат» would make of one group-by-discipline."""

    teaching: Teaching
    title: str
    teachers: int
    students: int
    existing: Chat | None

    @property
    def total(self) -> int:
        return self.teachers + self.students


def discipline_preview(teaching: Teaching) -> DisciplinePreview:
    """The derived name and the member counts, as `chat_create_discipline` computes them."""
    subgroup = teaching.students.filter(is_active=True)
    students = (
        subgroup if teaching.students.exists() else teaching.group.students.filter(is_active=True)
    )
    return DisciplinePreview(
        teaching=teaching,
        title=discipline_chat_title(teaching),
        teachers=teaching.teachers.filter(is_active=True).count(),
        students=students.count(),
        existing=Chat.objects.alive()
        .filter(kind=Chat.Kind.DISCIPLINE, teaching=teaching)
        .only("pk", "title")
        .first(),
    )

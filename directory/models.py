"""The college directory: organizations, people and their roles, groups, disciplines, schedule.

Rows that come from the journal carry the journal's `external_id` (unique within their
organization) and an `is_active` flag: what disappears from a snapshot is deactivated, never
deleted, so chats, calls and messages that point at it keep their history.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Upper
from django.utils import timezone


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "Неизвестный часовой пояс «%(value)s».", params={"value": value}
        ) from None


class Organization(models.Model):
    """A college (ПОО)."""

    code = models.SlugField("код", max_length=64, unique=True)
    name = models.CharField("наименование", max_length=500)
    short_name = models.CharField("краткое наименование", max_length=100)
    time_zone = models.CharField(
        "часовой пояс", max_length=64, default="Europe/Moscow", validators=[validate_time_zone]
    )
    created_at = models.DateTimeField("создана", default=timezone.now, editable=False)
    # Raised by database triggers on every change to who belongs to the mandatory chats
    # (directory/revision.py); the nightly rebuild skips a college whose counter stood still.
    revision = models.BigIntegerField("ревизия справочника", default=0, editable=False)

    class Meta:
        verbose_name = "организация"
        verbose_name_plural = "организации"
        ordering = ["short_name"]

    def __str__(self) -> str:
        return self.short_name or self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The college's clock; a broken value edited in by hand falls back to the product's."""
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo(settings.TIME_ZONE)


class RosterChange(models.Model):
    """A person whose place in the college's mandatory chats may have changed since the last
    rebuild — or, with no person, a change that calls for comparing the whole college.

    Written only by the directory triggers (directory/revision.py), read and cleared by the
    rebuild, which then compares just these people's memberships. The person is a plain
    number, not a foreign key: a deleted person's row must outlive them until the rebuild.
    Nor is the college constrained: deleting one deletes its directory, whose triggers write
    here as it goes; the few rows left behind are never read.
    """

    organization = models.ForeignKey(
        Organization,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        verbose_name="организация",
        related_name="+",
    )
    person_id = models.BigIntegerField("человек", null=True, blank=True)
    # Groups, curators and staff may change the set of chats, not only who is in them.
    reaches_chats = models.BooleanField("меняет набор чатов", default=False)

    class Meta:
        verbose_name = "изменение состава"
        verbose_name_plural = "изменения состава"

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.person_id or 'весь колледж'}"


class PersonManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, login: str, password: str | None = None, **fields) -> Person:
        if not login:
            raise ValueError("У человека должен быть логин.")
        person = self.model(login=login, **fields)
        person.set_password(password)  # None makes an unusable password.
        person.save(using=self._db)
        return person

    def create_superuser(self, login: str, password: str | None = None, **fields) -> Person:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(login, password, **fields)


class Person(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in: staff, students, parents, support. One row across organizations,
    matched by `login`."""

    login = models.CharField("логин", max_length=150, unique=True)
    last_name = models.CharField("фамилия", max_length=150)
    first_name = models.CharField("имя", max_length=150)
    middle_name = models.CharField("отчество", max_length=150, blank=True)
    is_staff = models.BooleanField(
        "доступ к администрированию",
        default=False,
        help_text="Сотрудник поддержки: может входить в административный раздел.",
    )
    is_active = models.BooleanField("может входить", default=True)
    # «ИВАНОВ КИРИЛЛ АНДРЕЕВИЧ», kept by the database: the participant picker searches any part
    # of the FIO through it (a trigram index on PostgreSQL, see the migration).
    fio_search = models.GeneratedField(
        expression=Upper(Concat("last_name", Value(" "), "first_name", Value(" "), "middle_name")),
        output_field=models.CharField(max_length=452),
        db_persist=True,
        verbose_name="ФИО для поиска",
    )
    date_joined = models.DateTimeField("создан", default=timezone.now, editable=False)

    objects = PersonManager()

    USERNAME_FIELD = "login"
    REQUIRED_FIELDS = ["last_name", "first_name"]

    class Meta:
        verbose_name = "человек"
        verbose_name_plural = "люди"
        ordering = ["last_name", "first_name", "middle_name", "login"]

    def __str__(self) -> str:
        return self.full_name or self.login

    @property
    def full_name(self) -> str:
        """«Иванов Кирилл Андреевич»."""
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    @property
    def short_name(self) -> str:
        """«Иванов К. А.»."""
        initials = " ".join(f"{p[0]}." for p in (self.first_name, self.middle_name) if p)
        return f"{self.last_name} {initials}".strip()

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.short_name


class ImportedQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Imported(models.Model):
    """What comes from an organization's snapshot: its id there and whether it is still in it."""

    external_id = models.CharField("внешний идентификатор", max_length=100)
    is_active = models.BooleanField("действует", default=True, db_index=True)

    objects = ImportedQuerySet.as_manager()

    class Meta:
        abstract = True


def _unique_external_id(model: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=["organization", "external_id"], name=f"{model}_unique_external_id"
    )


class StaffMember(Imported):
    """A person in the college's «Кадры»."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, verbose_name="организация", related_name="staff"
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, verbose_name="человек", related_name="staff_roles"
    )
    position = models.CharField("должность", max_length=200, blank=True)
    is_admin = models.BooleanField("администратор ОО", default=False)

    class Meta:
        verbose_name = "сотрудник"
        verbose_name_plural = "кадры"
        ordering = ["person__last_name", "person__first_name"]
        constraints = [
            _unique_external_id("staffmember"),
            models.UniqueConstraint(
                fields=["organization", "person"], name="staffmember_unique_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} — {self.position}" if self.position else str(self.person)


class Discipline(Imported):
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        verbose_name="организация",
        related_name="disciplines",
    )
    name = models.CharField("наименование", max_length=300)

    class Meta:
        verbose_name = "дисциплина"
        verbose_name_plural = "дисциплины"
        ordering = ["name"]
        constraints = [_unique_external_id("discipline")]

    def __str__(self) -> str:
        return self.name


class Group(Imported):
    """A study group of the «Контингент»."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, verbose_name="организация", related_name="groups"
    )
    name = models.CharField("наименование", max_length=100)
    course = models.PositiveSmallIntegerField("курс")
    curators = models.ManyToManyField(
        StaffMember, verbose_name="кураторы", related_name="curated_groups", blank=True
    )

    class Meta:
        verbose_name = "группа"
        verbose_name_plural = "группы"
        ordering = ["course", "name"]
        constraints = [
            _unique_external_id("group"),
            models.CheckConstraint(
                condition=Q(course__gte=1, course__lte=6), name="group_course_1_to_6"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Student(Imported):
    """A person studying in a group of the college."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, verbose_name="организация", related_name="students"
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, verbose_name="человек", related_name="student_roles"
    )
    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, verbose_name="группа", related_name="students"
    )

    class Meta:
        verbose_name = "обучающийся"
        verbose_name_plural = "обучающиеся"
        ordering = ["person__last_name", "person__first_name"]
        constraints = [
            _unique_external_id("student"),
            models.UniqueConstraint(
                fields=["organization", "person"], name="student_unique_person"
            ),
        ]

    def __str__(self) -> str:
        return str(self.person)


class Guardian(Imported):
    """A parent or legal representative (родитель/законный представитель) of students."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, verbose_name="организация", related_name="guardians"
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, verbose_name="человек", related_name="guardian_roles"
    )
    children = models.ManyToManyField(
        Student, verbose_name="дети", related_name="guardians", blank=True
    )

    class Meta:
        verbose_name = "родитель"
        verbose_name_plural = "родители"
        ordering = ["person__last_name", "person__first_name"]
        constraints = [
            _unique_external_id("guardian"),
            models.UniqueConstraint(
                fields=["organization", "person"], name="guardian_unique_person"
            ),
        ]

    def __str__(self) -> str:
        return str(self.person)


class Teaching(Imported):
    """A group-by-discipline («группа по дисциплине»): who teaches what to which students.

    With no `students` the whole group attends; otherwise only the listed subgroup does.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, verbose_name="организация", related_name="teachings"
    )
    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, verbose_name="группа", related_name="teachings"
    )
    discipline = models.ForeignKey(
        Discipline, on_delete=models.PROTECT, verbose_name="дисциплина", related_name="teachings"
    )
    teachers = models.ManyToManyField(
        StaffMember, verbose_name="преподаватели", related_name="teachings", blank=True
    )
    students = models.ManyToManyField(
        Student,
        verbose_name="подгруппа",
        related_name="teachings",
        blank=True,
        help_text="Пусто — вся группа.",
    )

    class Meta:
        verbose_name = "группа по дисциплине"
        verbose_name_plural = "группы по дисциплинам"
        ordering = ["group__name", "discipline__name"]
        constraints = [_unique_external_id("teaching")]

    def __str__(self) -> str:
        return f"{self.group.name} — {self.discipline.name}"


class Lesson(models.Model):
    """A lesson of the «Расписание»: one sitting of a group-by-discipline."""

    teaching = models.ForeignKey(
        Teaching,
        on_delete=models.CASCADE,
        verbose_name="группа по дисциплине",
        related_name="lessons",
    )
    date = models.DateField("дата")
    start = models.TimeField("начало")
    end = models.TimeField("окончание")
    is_active = models.BooleanField("действует", default=True, db_index=True)

    objects = ImportedQuerySet.as_manager()

    class Meta:
        verbose_name = "урок"
        verbose_name_plural = "расписание"
        ordering = ["date", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["teaching", "date", "start"], name="lesson_unique_slot"
            ),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="lesson_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["date", "start"], name="lesson_date_idx")]

    def __str__(self) -> str:
        return f"{self.date:%d.%m.%Y} {self.start:%H:%M}–{self.end:%H:%M}"


class CollegePerson(models.Model):
    """A person with an active role in a college — staff, student or parent — under the name
    the college's participant picker (F15) lists and searches them by.

    A read model kept by database triggers on the role tables and on people's names
    (directory/college_people.py), never written by the code. People have no college of their
    own, so without it a search of one college would read the whole region's matches and
    check three role tables for each; here the college and the search meet in one index
    scan, and the college's list walks its own FIO order.
    """

    organization = models.ForeignKey(
        Organization,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the unique constraint and the FIO order lead with it
        verbose_name="организация",
        related_name="+",
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        verbose_name="человек",
        related_name="+",
    )
    last_name = models.CharField("фамилия", max_length=150)
    first_name = models.CharField("имя", max_length=150)
    middle_name = models.CharField("отчество", max_length=150, blank=True)
    # As Person.fio_search; a trigram index on PostgreSQL (migration 0007).
    fio_search = models.GeneratedField(
        expression=Upper(Concat("last_name", Value(" "), "first_name", Value(" "), "middle_name")),
        output_field=models.CharField(max_length=452),
        db_persist=True,
        verbose_name="ФИО для поиска",
    )

    class Meta:
        verbose_name = "человек колледжа"
        verbose_name_plural = "люди колледжей"
        constraints = [
            models.UniqueConstraint(fields=["organization", "person"], name="collegeperson_unique")
        ]
        indexes = [
            # With the search column along (PostgreSQL), a search too short for the trigram
            # index («ив») reads the college's list from the index alone.
            models.Index(
                fields=["organization", "last_name", "first_name", "middle_name", "person"],
                name="collegeperson_fio_order",
                include=["fio_search"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.last_name} {self.first_name} {self.middle_name}".strip()

"""Django admin of the directory, for support staff.

A region holds thousands of people per college, so every changelist selects its relations in
the page query (or prefetches them in a fixed number of queries), every foreign key is an
autocomplete, and the group filter lists only the groups of the organization chosen beside it.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm, UsernameField
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce

from config.admin import ReadOnlyAdmin
from directory.models import (
    CollegePerson,
    Discipline,
    Group,
    Guardian,
    Lesson,
    Organization,
    Person,
    RosterChange,
    StaffMember,
    Student,
    Teaching,
)

PERSON_SEARCH = ("login", "last_name", "first_name", "middle_name")

# Above this many groups the group filter waits until an organization is chosen.
GROUP_FILTER_LIMIT = 100


def _count(rows, key: str) -> Coalesce:
    """COUNT of `rows` (filtered on `key` = the outer row) as a subquery: a GROUP BY over the
    changelist would drop its ordering."""
    counted = rows.filter(**{key: OuterRef("pk")}).order_by().values(key)
    counted = counted.annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def person_search(prefix: str) -> tuple[str, ...]:
    """search_fields that find a role by its person's FIO (any part of it) or login."""
    return tuple(f"{prefix}__{field}" for field in PERSON_SEARCH)


def _group_filter(
    organization_parameter: str, title: str = "группа"
) -> type[admin.RelatedFieldListFilter]:
    """A filter by group that offers only the groups of the organization chosen in
    `organization_parameter` (all groups when there are few of them)."""

    class GroupOfOrganizationFilter(admin.RelatedFieldListFilter):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.title = title

        def field_choices(self, field, request, model_admin):
            groups = Group.objects.order_by("course", "name")
            organization = request.GET.get(organization_parameter, "")
            if organization.isdecimal():
                return list(groups.filter(organization_id=organization).values_list("pk", "name"))
            if groups.count() > GROUP_FILTER_LIMIT:
                return []
            return [
                (pk, f"{name} ({org})")
                for pk, name, org in groups.values_list("pk", "name", "organization__short_name")
            ]

    return GroupOfOrganizationFilter


def _course_filter(path: str) -> type[admin.SimpleListFilter]:
    """A filter by course (1–6) through `path`, offered without a query."""

    class CourseFilter(admin.SimpleListFilter):
        title = "курс"
        parameter_name = "course"

        def lookups(self, request, model_admin):
            return [(str(course), f"{course} курс") for course in range(1, 7)]

        def queryset(self, request, queryset):
            if self.value() in {str(course) for course in range(1, 7)}:
                return queryset.filter(**{path: int(self.value())})
            return queryset

    return CourseFilter


class PersonOrganizationFilter(admin.SimpleListFilter):
    """People holding any role (staff, student, parent) in the chosen organization."""

    title = "организация"
    parameter_name = "organization"

    def lookups(self, request, model_admin):
        return list(Organization.objects.values_list("pk", "short_name"))

    def queryset(self, request, queryset):
        if not (self.value() or "").isdecimal():
            return queryset
        org = int(self.value())
        return queryset.filter(
            Exists(StaffMember.objects.filter(person=OuterRef("pk"), organization_id=org))
            | Exists(Student.objects.filter(person=OuterRef("pk"), organization_id=org))
            | Exists(Guardian.objects.filter(person=OuterRef("pk"), organization_id=org))
        )


class PersonRoleFilter(admin.SimpleListFilter):
    title = "роль"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [
            ("staff", "Сотрудник"),
            ("oo_admin", "Администратор ОО"),
            ("student", "Обучающийся"),
            ("guardian", "Родитель"),
            ("none", "Без ролей"),
        ]

    def queryset(self, request, queryset):
        staff = StaffMember.objects.filter(person=OuterRef("pk"))
        students = Student.objects.filter(person=OuterRef("pk"))
        guardians = Guardian.objects.filter(person=OuterRef("pk"))
        match self.value():
            case "staff":
                return queryset.filter(Exists(staff))
            case "oo_admin":
                return queryset.filter(Exists(staff.filter(is_admin=True)))
            case "student":
                return queryset.filter(Exists(students))
            case "guardian":
                return queryset.filter(Exists(guardians))
            case "none":
                return queryset.exclude(Exists(staff) | Exists(students) | Exists(guardians))
        return queryset


class PersonCreationForm(AdminUserCreationForm):
    class Meta:
        model = Person
        fields = ("login", "last_name", "first_name", "middle_name")
        field_classes = {"login": UsernameField}

    def clean_login(self):
        # Sign-in is case-sensitive, so «Ivanov» beside «ivanov» would be two people to the
        # journal and one to a support operator.
        login = self.cleaned_data.get("login")
        if login and Person.objects.filter(login__iexact=login).exists():
            raise ValidationError("Человек с таким логином уже есть.", code="unique")
        return login


class PersonChangeForm(UserChangeForm):
    class Meta:
        model = Person
        fields = "__all__"
        field_classes = {"login": UsernameField}


class _RoleInline(admin.TabularInline):
    """A person's roles, read-only: they come from the journal's import."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StaffRoleInline(_RoleInline):
    model = StaffMember
    fields = ("organization", "position", "is_admin", "external_id", "is_active")
    verbose_name_plural = "роли сотрудника"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "person")


class StudentRoleInline(_RoleInline):
    model = Student
    fields = ("organization", "group", "course", "external_id", "is_active")
    readonly_fields = ("course",)
    verbose_name_plural = "роли обучающегося"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "group", "person")

    @admin.display(description="курс")
    def course(self, obj: Student) -> int:
        return obj.group.course


class GuardianRoleInline(_RoleInline):
    model = Guardian
    fields = ("organization", "children_list", "external_id", "is_active")
    readonly_fields = ("children_list",)
    verbose_name_plural = "роли родителя"

    def get_queryset(self, request):
        children = Student.objects.select_related("person", "group")
        return (
            super()
            .get_queryset(request)
            .select_related("organization", "person")
            .prefetch_related(Prefetch("children", queryset=children))
        )

    @admin.display(description="дети")
    def children_list(self, obj: Guardian) -> str:
        return ", ".join(f"{c.person.short_name} ({c.group.name})" for c in obj.children.all())


@admin.register(Person)
class PersonAdmin(UserAdmin):
    form = PersonChangeForm
    add_form = PersonCreationForm
    fieldsets = (
        (None, {"fields": ("login", "password")}),
        ("ФИО", {"fields": ("last_name", "first_name", "middle_name")}),
        (
            "Права",
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        ("Даты", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "login",
                    "last_name",
                    "first_name",
                    "middle_name",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    list_display = ("login", "full_name", "roles", "is_active", "is_staff", "last_login")
    list_display_links = ("login", "full_name")
    list_filter = (PersonOrganizationFilter, PersonRoleFilter, "is_active", "is_staff")
    search_fields = PERSON_SEARCH
    ordering = ("last_name", "first_name", "middle_name", "login")
    inlines = (StaffRoleInline, StudentRoleInline, GuardianRoleInline)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def get_queryset(self, request):
        # Three prefetches, whatever the page size: the «роли» column reads only these.
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("staff_roles", StaffMember.objects.select_related("organization")),
                Prefetch("student_roles", Student.objects.select_related("organization", "group")),
                Prefetch("guardian_roles", Guardian.objects.select_related("organization")),
            )
        )

    @admin.display(description="ФИО", ordering="last_name")
    def full_name(self, obj: Person) -> str:
        return obj.full_name

    @admin.display(description="роли")
    def roles(self, obj: Person) -> str:
        roles = [
            f"{'администратор ОО' if s.is_admin else 'сотрудник'} ({s.organization})"
            for s in obj.staff_roles.all()
        ]
        roles += [f"обучающийся {s.group.name} ({s.organization})" for s in obj.student_roles.all()]
        roles += [f"родитель ({g.organization})" for g in obj.guardian_roles.all()]
        return "; ".join(roles) or "—"


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("short_name", "name", "code", "time_zone", "created_at")
    search_fields = ("short_name", "name", "code")
    readonly_fields = ("created_at",)
    prepopulated_fields = {"code": ("short_name",)}


@admin.register(RosterChange)
class RosterChangeAdmin(ReadOnlyAdmin):
    """What tonight's rebuild will compare: read-only, the database writes it (revision.py)."""

    list_display = ("organization", "person_id")
    list_filter = ("organization",)
    list_select_related = ("organization",)
    show_full_result_count = False


@admin.register(CollegePerson)
class CollegePersonAdmin(ReadOnlyAdmin):
    """Who each college's participant picker offers: read-only, the database keeps it from the
    roles and names (college_people.py). Support checks here why someone is (not) found."""

    list_display = ("last_name", "first_name", "middle_name", "organization")
    list_filter = ("organization",)
    list_select_related = ("organization",)
    search_fields = ("fio_search",)
    show_full_result_count = False


# What str() of a choice reads, so a form's selected choices are rendered in one query.
_CHOICE_RELATED = {
    StaffMember: ("person",),
    Student: ("person",),
    Teaching: ("group", "discipline"),
}


class _DirectoryAdmin(admin.ModelAdmin):
    """The organization-scoped rows of the directory."""

    list_per_page = 50
    # The unfiltered total costs a second COUNT over a region's table on every page.
    show_full_result_count = False

    def get_queryset(self, request):
        # Changelists apply list_select_related only to a queryset without select_related,
        # so it is applied here, for the changelist and the autocompletes alike.
        return super().get_queryset(request).select_related(*self.list_select_related)

    def _choices(self, db_field, kwargs):
        related = _CHOICE_RELATED.get(db_field.related_model)
        if related and "queryset" not in kwargs:
            kwargs["queryset"] = db_field.related_model._default_manager.select_related(*related)
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return super().formfield_for_foreignkey(
            db_field, request, **self._choices(db_field, kwargs)
        )

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return super().formfield_for_manytomany(
            db_field, request, **self._choices(db_field, kwargs)
        )


@admin.register(StaffMember)
class StaffMemberAdmin(_DirectoryAdmin):
    list_display = ("person", "login", "position", "is_admin", "organization", "is_active")
    list_filter = (
        "organization",
        ("curated_groups", _group_filter("organization__id__exact", "куратор группы")),
        ("teachings__group", _group_filter("organization__id__exact", "преподаёт в группе")),
        "is_admin",
        "is_active",
    )
    search_fields = (*person_search("person"), "position", "external_id")
    list_select_related = ("person", "organization")
    autocomplete_fields = ("organization", "person")
    fields = ("organization", "person", "position", "is_admin", "external_id", "is_active")

    @admin.display(description="логин", ordering="person__login")
    def login(self, obj: StaffMember) -> str:
        return obj.person.login


@admin.register(Discipline)
class DisciplineAdmin(_DirectoryAdmin):
    list_display = ("name", "organization", "external_id", "is_active")
    list_filter = ("organization", "is_active")
    search_fields = ("name", "external_id")
    list_select_related = ("organization",)
    autocomplete_fields = ("organization",)


@admin.register(Group)
class GroupAdmin(_DirectoryAdmin):
    list_display = (
        "name",
        "course",
        "organization",
        "curator_list",
        "student_count",
        "is_active",
    )
    list_filter = ("organization", _course_filter("course"), "is_active")
    search_fields = ("name", "external_id", *person_search("curators__person"))
    list_select_related = ("organization",)
    autocomplete_fields = ("organization", "curators")

    def get_queryset(self, request):
        curators = StaffMember.objects.select_related("person")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("curators", queryset=curators))
            .annotate(active_students=_count(Student.objects.active(), "group"))
        )

    @admin.display(description="кураторы")
    def curator_list(self, obj: Group) -> str:
        return ", ".join(c.person.short_name for c in obj.curators.all()) or "—"

    @admin.display(description="обучающихся", ordering="active_students")
    def student_count(self, obj: Group) -> int:
        return obj.active_students


@admin.register(Student)
class StudentAdmin(_DirectoryAdmin):
    list_display = ("person", "login", "group", "course", "organization", "is_active")
    list_filter = (
        "organization",
        ("group", _group_filter("organization__id__exact")),
        _course_filter("group__course"),
        "is_active",
    )
    search_fields = (*person_search("person"), "group__name", "external_id")
    list_select_related = ("person", "group", "organization")
    autocomplete_fields = ("organization", "person", "group")

    @admin.display(description="логин", ordering="person__login")
    def login(self, obj: Student) -> str:
        return obj.person.login

    @admin.display(description="курс", ordering="group__course")
    def course(self, obj: Student) -> int:
        return obj.group.course


@admin.register(Guardian)
class GuardianAdmin(_DirectoryAdmin):
    list_display = ("person", "login", "children_list", "organization", "is_active")
    list_filter = (
        "organization",
        ("children__group", _group_filter("organization__id__exact", "группа ребёнка")),
        _course_filter("children__group__course"),
        "is_active",
    )
    search_fields = (
        *person_search("person"),
        "children__person__last_name",
        "external_id",
    )
    list_select_related = ("person", "organization")
    autocomplete_fields = ("organization", "person", "children")

    def get_queryset(self, request):
        children = Student.objects.select_related("person", "group")
        return (
            super().get_queryset(request).prefetch_related(Prefetch("children", queryset=children))
        )

    @admin.display(description="логин", ordering="person__login")
    def login(self, obj: Guardian) -> str:
        return obj.person.login

    @admin.display(description="дети")
    def children_list(self, obj: Guardian) -> str:
        return ", ".join(f"{c.person.short_name} ({c.group.name})" for c in obj.children.all())


@admin.register(Teaching)
class TeachingAdmin(_DirectoryAdmin):
    list_display = (
        "group",
        "discipline",
        "teacher_list",
        "subgroup",
        "organization",
        "is_active",
    )
    list_filter = (
        "organization",
        ("group", _group_filter("organization__id__exact")),
        _course_filter("group__course"),
        "is_active",
    )
    search_fields = (
        "group__name",
        "discipline__name",
        *person_search("teachers__person"),
        "external_id",
    )
    list_select_related = ("group", "discipline", "organization")
    autocomplete_fields = ("organization", "group", "discipline", "teachers", "students")

    def get_queryset(self, request):
        teachers = StaffMember.objects.select_related("person")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("teachers", queryset=teachers))
            .annotate(subgroup_size=_count(Teaching.students.through.objects, "teaching"))
        )

    @admin.display(description="преподаватели")
    def teacher_list(self, obj: Teaching) -> str:
        return ", ".join(t.person.short_name for t in obj.teachers.all()) or "—"

    @admin.display(description="подгруппа", ordering="subgroup_size")
    def subgroup(self, obj: Teaching) -> str:
        return f"{obj.subgroup_size} чел." if obj.subgroup_size else "вся группа"


@admin.register(Lesson)
class LessonAdmin(_DirectoryAdmin):
    list_display = ("date", "start", "end", "group", "discipline", "organization", "is_active")
    list_display_links = ("date", "start")
    list_filter = (
        "teaching__organization",
        ("teaching__group", _group_filter("teaching__organization__id__exact")),
        _course_filter("teaching__group__course"),
        "is_active",
    )
    search_fields = ("teaching__group__name", "teaching__discipline__name")
    date_hierarchy = "date"
    list_select_related = (
        "teaching__group",
        "teaching__discipline",
        "teaching__organization",
    )
    autocomplete_fields = ("teaching",)

    @admin.display(description="группа", ordering="teaching__group__name")
    def group(self, obj: Lesson) -> str:
        return obj.teaching.group.name

    @admin.display(description="дисциплина", ordering="teaching__discipline__name")
    def discipline(self, obj: Lesson) -> str:
        return obj.teaching.discipline.name

    @admin.display(description="организация")
    def organization(self, obj: Lesson) -> Organization:
        return obj.teaching.organization

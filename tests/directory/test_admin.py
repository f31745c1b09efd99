"""Django admin of the directory: every page opens, people are found by FIO and login,
changelists filter by organization, group and course, and do not run a query per row."""

from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from directory.models import Lesson, Person
from tests import factories

pytestmark = pytest.mark.django_db

DIRECTORY_ADMINS = sorted(
    (
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "directory"
    ),
    key=lambda pair: pair[0]._meta.model_name,
)
ADMIN_IDS = [model._meta.model_name for model, _ in DIRECTORY_ADMINS]


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def person(login: str, fio: str) -> Person:
    last_name, first_name, middle_name = fio.split()
    return factories.PersonFactory(
        login=login, last_name=last_name, first_name=first_name, middle_name=middle_name
    )


@pytest.fixture
def superuser(client):
    support = person("support", "Админов Админ Админович")
    support.is_staff = support.is_superuser = True
    support.save()
    client.force_login(support)
    return support


@pytest.fixture
def college():
    """Two colleges: in the first a teacher who curates ИС-21 (2nd course), a student of it,
    her parent, a subgroup teaching with a lesson; in the second a student of 1st course."""
    org = factories.OrganizationFactory(code="pk-1", short_name="ПК № 1")
    teacher = factories.StaffMemberFactory(
        organization=org, person=person("kivanov", "Иванов Кирилл Андреевич"), is_admin=True
    )
    group = factories.GroupFactory(organization=org, name="ИС-21", course=2, curators=[teacher])
    student = factories.StudentFactory(
        group=group, person=person("opetrova", "Петрова Ольга Сергеевна")
    )
    guardian = factories.GuardianFactory(
        organization=org, person=person("spetrov", "Петров Сергей Игоревич"), children=[student]
    )
    teaching = factories.TeachingFactory(
        group=group,
        discipline=factories.DisciplineFactory(organization=org, name="Математика"),
        teachers=[teacher],
        students=[student],
    )
    lesson = factories.LessonFactory(teaching=teaching)

    other_org = factories.OrganizationFactory(code="tk-2", short_name="ТК № 2")
    other_group = factories.GroupFactory(organization=other_org, name="ТМ-11", course=1)
    other_student = factories.StudentFactory(
        group=other_group, person=person("asmirnov", "Смирнов Алексей Петрович")
    )
    other_teaching = factories.TeachingFactory(group=other_group)
    factories.LessonFactory(teaching=other_teaching)
    return SimpleNamespace(**locals())


def changelist(client, model, query: str = "") -> list:
    response = client.get(admin_url(model, "changelist") + query)
    assert response.status_code == 200, response.content[:2000]
    return list(response.context["cl"].result_list)


def test_every_directory_model_is_registered_in_admin():
    registered = {model for model, _ in DIRECTORY_ADMINS}
    assert set(apps.get_app_config("directory").get_models()) <= registered


@pytest.mark.parametrize(("model", "model_admin"), DIRECTORY_ADMINS, ids=ADMIN_IDS)
def test_every_admin_page_opens(client, superuser, college, model, model_admin):
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"the college fixture makes no {model.__name__}"
    urls = [
        admin_url(model, "changelist"),
        admin_url(model, "changelist") + "?q=Иванов",
        admin_url(model, "add"),
        admin_url(model, "change", obj.pk),
        admin_url(model, "delete", obj.pk),
        admin_url(model, "history", obj.pk),
    ]
    # A log the database keeps (RosterChange) is read-only: its add and delete are refused.
    read_only = not model_admin.has_add_permission(SimpleNamespace(user=superuser))
    for url in urls:
        response = client.get(url)
        refused = read_only and url in (urls[2], urls[4])
        assert response.status_code == (403 if refused else 200), f"{url}: {response.status_code}"


@pytest.mark.parametrize(("model", "model_admin"), DIRECTORY_ADMINS, ids=ADMIN_IDS)
def test_every_autocomplete_field_answers(client, superuser, college, model, model_admin):
    for field_name in model_admin.autocomplete_fields:
        response = client.get(
            reverse("admin:autocomplete"),
            {
                "app_label": model._meta.app_label,
                "model_name": model._meta.model_name,
                "field_name": field_name,
                "term": "",
            },
        )
        assert response.status_code == 200, f"{model.__name__}.{field_name}"
        assert response.json()["results"], f"{model.__name__}.{field_name} offers nothing"


def test_a_person_is_added_with_login_fio_and_password(client, superuser):
    response = client.post(
        admin_url(Person, "add"),
        {
            "login": "vorlova",
            "last_name": "Орлова",
            "first_name": "Вера",
            "middle_name": "Павловна",
            "usable_password": "true",
            "password1": "Hard-to-guess-42",
            "password2": "Hard-to-guess-42",
        },
    )
    created = Person.objects.get(login="vorlova")
    assert response.status_code == 302
    assert response.url == admin_url(Person, "change", created.pk)
    assert created.full_name == "Орлова Вера Павловна"
    assert created.check_password("Hard-to-guess-42")
    assert not created.is_staff


def test_a_login_differing_only_in_case_is_rejected(client, superuser, college):
    response = client.post(
        admin_url(Person, "add"),
        {
            "login": "KIvanov",
            "last_name": "Иванов",
            "first_name": "Кирилл",
            "usable_password": "false",
        },
    )
    assert response.status_code == 200
    assert "Человек с таким логином уже есть." in response.context["adminform"].form.errors["login"]
    assert not Person.objects.filter(login="KIvanov").exists()


def test_the_person_page_links_to_the_password_change_which_works(client, superuser, college):
    teacher = college.teacher.person
    response = client.get(admin_url(Person, "change", teacher.pk))
    assert b"../password/" in response.content

    password_url = admin_url(Person, "change", teacher.pk).replace("/change/", "/password/")
    assert client.get(password_url).status_code == 200
    response = client.post(
        password_url,
        {"usable_password": "true", "password1": "New-secret-77", "password2": "New-secret-77"},
    )
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.check_password("New-secret-77")


def test_the_person_page_shows_every_role_read_only(client, superuser, college):
    # Сергей Петров is also a teacher in the second college: one person, two organizations.
    factories.StaffMemberFactory(
        organization=college.other_org, person=college.guardian.person, position="Мастер п/о"
    )
    response = client.get(admin_url(Person, "change", college.guardian.person.pk))
    content = response.content.decode()
    assert "Роли сотрудника" in content
    assert "Роли родителя" in content
    assert "Мастер п/о" in content
    assert "Петрова О. С. (ИС-21)" in content
    for formset in response.context["inline_admin_formsets"]:
        assert not formset.has_add_permission
        assert not formset.has_change_permission
        assert not formset.has_delete_permission


def test_the_add_person_page_shows_no_roles(client, superuser):
    response = client.get(admin_url(Person, "add"))
    assert response.context["inline_admin_formsets"] == []


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("Иванов", {"kivanov"}),
        ("Кирилл", {"kivanov"}),
        ("Андреевич", {"kivanov"}),
        ("Иванов Кирилл Андреевич", {"kivanov"}),
        # Алексей Петрович is found too: a middle name is part of the FIO.
        ("Петров", {"opetrova", "spetrov", "asmirnov"}),
        ("Петрова Ольга", {"opetrova"}),
        ("kivanov", {"kivanov"}),
        ("KIVANOV", {"kivanov"}),
        ("petr", {"opetrova", "spetrov"}),
    ],
)
def test_people_are_found_by_any_part_of_fio_or_login(client, superuser, college, query, found):
    people = changelist(client, Person, f"?q={query}")
    assert {p.login for p in people} == found


@pytest.mark.parametrize(
    ("model_name", "query", "found"),
    [
        ("staffmember", "Иванов", "kivanov"),
        ("staffmember", "kivanov", "kivanov"),
        ("student", "Петрова Ольга", "opetrova"),
        ("student", "opetrova", "opetrova"),
        ("student", "Смирнов", "asmirnov"),
        ("guardian", "Петров Сергей", "spetrov"),
        ("guardian", "spetrov", "spetrov"),
    ],
)
def test_roles_are_found_by_the_persons_fio_or_login(
    client, superuser, college, model_name, query, found
):
    model = apps.get_model("directory", model_name)
    rows = changelist(client, model, f"?q={query}")
    assert [row.person.login for row in rows] == [found]


def test_groups_teachings_and_lessons_are_found_by_group_name(client, superuser, college):
    assert changelist(client, college.group.__class__, "?q=ИС-21") == [college.group]
    assert changelist(client, college.teaching.__class__, "?q=ИС-21") == [college.teaching]
    assert changelist(client, Lesson, "?q=ИС-21") == [college.lesson]


@pytest.mark.postgres
def test_search_ignores_the_case_of_cyrillic_letters(client, superuser, college):
    # SQLite folds only ASCII case, so this holds on PostgreSQL, the production database.
    assert [p.login for p in changelist(client, Person, "?q=иванов кирилл")] == ["kivanov"]


def test_students_are_filtered_by_organization(client, superuser, college):
    rows = changelist(
        client, college.student.__class__, f"?organization__id__exact={college.org.pk}"
    )
    assert rows == [college.student]


def test_students_are_filtered_by_group(client, superuser, college):
    query = f"?group__id__exact={college.other_group.pk}"
    assert changelist(client, college.student.__class__, query) == [college.other_student]


@pytest.mark.parametrize(("course", "login"), [("1", "asmirnov"), ("2", "opetrova")])
def test_students_are_filtered_by_course(client, superuser, college, course, login):
    rows = changelist(client, college.student.__class__, f"?course={course}")
    assert [row.person.login for row in rows] == [login]


def test_inactive_students_are_filtered_out(client, superuser, college):
    college.other_student.is_active = False
    college.other_student.save()
    rows = changelist(client, college.student.__class__, "?is_active__exact=1")
    assert rows == [college.student]


def test_people_are_filtered_by_an_organization_of_any_of_their_roles(client, superuser, college):
    people = changelist(client, Person, f"?organization={college.org.pk}")
    assert {p.login for p in people} == {"kivanov", "opetrova", "spetrov"}


@pytest.mark.parametrize(
    ("role", "found"),
    [
        ("staff", {"kivanov"}),
        ("oo_admin", {"kivanov"}),
        ("student", {"opetrova", "asmirnov"}),
        ("guardian", {"spetrov"}),
        ("none", {"support"}),
    ],
)
def test_people_are_filtered_by_role(client, superuser, college, role, found):
    assert {p.login for p in changelist(client, Person, f"?role={role}")} == found


def test_parents_are_filtered_by_their_childrens_group_and_course(client, superuser, college):
    guardian_model = college.guardian.__class__
    assert changelist(
        client, guardian_model, f"?children__group__id__exact={college.group.pk}"
    ) == [college.guardian]
    assert changelist(client, guardian_model, "?course=2") == [college.guardian]
    assert changelist(client, guardian_model, "?course=1") == []


def test_staff_are_filtered_by_the_group_they_curate_or_teach(client, superuser, college):
    staff_model = college.teacher.__class__
    other_teacher = factories.StaffMemberFactory(
        organization=college.org, person=person("nlebedev", "Лебедев Никита Олегович")
    )
    group = f"={college.group.pk}"
    assert changelist(client, staff_model, f"?curated_groups__id__exact{group}") == [
        college.teacher
    ]
    assert changelist(client, staff_model, f"?teachings__group__id__exact{group}") == [
        college.teacher
    ]
    everyone = changelist(client, staff_model, f"?organization__id__exact={college.org.pk}")
    assert set(everyone) == {college.teacher, other_teacher}


def test_groups_teachings_and_lessons_are_filtered_by_organization_and_course(
    client, superuser, college
):
    org = f"?organization__id__exact={college.other_org.pk}"
    assert changelist(client, college.group.__class__, org) == [college.other_group]
    assert changelist(client, college.group.__class__, "?course=2") == [college.group]
    assert changelist(client, college.teaching.__class__, org) == [college.other_teaching]
    assert changelist(client, college.teaching.__class__, "?course=2") == [college.teaching]
    lessons = changelist(client, Lesson, f"?teaching__organization__id__exact={college.org.pk}")
    assert lessons == [college.lesson]
    assert changelist(client, Lesson, f"?teaching__group__id__exact={college.group.pk}") == [
        college.lesson
    ]


def test_the_group_filter_offers_only_the_chosen_organizations_groups(client, superuser, college):
    # A filter of one choice is not shown, so each college gets a second group.
    second = factories.GroupFactory(organization=college.org, name="ИС-22")
    factories.GroupFactory(organization=college.other_org, name="ТМ-12")
    url = admin_url(college.student.__class__, "changelist")
    everything = client.get(url).content.decode()
    assert "ИС-21 (ПК № 1)" in everything
    assert "ТМ-11 (ТК № 2)" in everything

    scoped = client.get(url, {"organization__id__exact": college.org.pk}).content.decode()
    assert f"group__id__exact={college.group.pk}&" in scoped
    assert f"group__id__exact={second.pk}&" in scoped
    assert f"group__id__exact={college.other_group.pk}&" not in scoped


def test_a_non_staff_person_is_redirected_from_admin(client, college):
    client.force_login(college.teacher.person)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    response = client.get(admin_url(Person, "changelist"))
    assert response.status_code == 302


def test_an_anonymous_visitor_is_redirected_from_admin(client):
    response = client.get(admin_url(Person, "changelist"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


# Each changelist grows by rows of its own model with every relation its columns read.
def _grow_students(org, n):
    group = factories.GroupFactory(organization=org)
    for _ in range(n):
        factories.StudentFactory(group=group)


def _grow_people(org, n):
    for _ in range(n):
        student = factories.StudentFactory(group=factories.GroupFactory(organization=org))
        factories.StaffMemberFactory(organization=org, person=student.person)
        factories.GuardianFactory(organization=org, person=student.person)


def _grow_staff(org, n):
    for _ in range(n):
        factories.StaffMemberFactory(organization=org)


def _grow_guardians(org, n):
    group = factories.GroupFactory(organization=org)
    for _ in range(n):
        children = [factories.StudentFactory(group=group) for _ in range(2)]
        factories.GuardianFactory(organization=org, children=children)


def _grow_groups(org, n):
    for _ in range(n):
        curator = factories.StaffMemberFactory(organization=org)
        group = factories.GroupFactory(organization=org, curators=[curator])
        factories.StudentFactory(group=group)


def _grow_teachings(org, n):
    teacher = factories.StaffMemberFactory(organization=org)
    for _ in range(n):
        factories.TeachingFactory(
            group=factories.GroupFactory(organization=org), teachers=[teacher]
        )


def _grow_lessons(org, n):
    import datetime as dt

    teaching = factories.TeachingFactory(group=factories.GroupFactory(organization=org))
    for i in range(n):
        factories.LessonFactory(teaching=teaching, date=dt.date(2025, 9, 1) + dt.timedelta(i))


GROWERS = {
    "student": _grow_students,
    "person": _grow_people,
    "staffmember": _grow_staff,
    "guardian": _grow_guardians,
    "group": _grow_groups,
    "teaching": _grow_teachings,
    "lesson": _grow_lessons,
}


@pytest.mark.parametrize("model_name", sorted(GROWERS))
def test_a_changelist_runs_as_many_queries_for_50_rows_as_for_5(
    client, superuser, django_assert_max_num_queries, model_name
):
    model = apps.get_model("directory", model_name)
    url = admin_url(model, "changelist")
    org = factories.OrganizationFactory()
    GROWERS[model_name](org, 5)
    client.get(url)  # warm up: sessions, content types
    with CaptureQueriesContext(connection) as five:
        assert client.get(url).status_code == 200

    GROWERS[model_name](org, 45)
    with django_assert_max_num_queries(len(five)):
        response = client.get(url)
    assert len(response.context["cl"].result_list) >= 45

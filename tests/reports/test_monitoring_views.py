"""«Мониторинг» pages: who may open which, what they show, and a bounded number of queries."""

import pytest
from django.urls import reverse

from reports import services
from reports.models import RegionAdministrator
from tests import factories


def college_url(org):
    return reverse("reports:college", args=[org.pk])


@pytest.mark.parametrize("who", ["teacher", "clerk", "s1", "g1"])
def test_teacher_student_and_parent_get_403(college, as_person, who):
    client = as_person(getattr(college, who))
    assert client.get(reverse("reports:index")).status_code == 403
    assert client.get(college_url(college.org)).status_code == 403
    assert client.get(reverse("reports:region")).status_code == 403
    assert (
        client.get(reverse("reports:college_csv", args=[college.org.pk, "groups"])).status_code
        == 403
    )


def test_anonymous_is_sent_to_sign_in(client, college):
    response = client.get(college_url(college.org))
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_oo_admin_is_sent_to_their_college(college, as_person):
    response = as_person(college.admin).get(reverse("reports:index"))
    assert response.status_code == 302
    assert response["Location"] == college_url(college.org)


def test_oo_admin_sees_only_their_college(college, as_person):
    client = as_person(college.admin)
    assert client.get(college_url(college.org)).status_code == 200
    assert client.get(college_url(college.other)).status_code == 403
    assert client.get(reverse("reports:region")).status_code == 403
    assert client.get(reverse("reports:region_csv", args=["colleges"])).status_code == 403


def test_region_admin_sees_the_region_and_drills_into_a_college(college, region_admin, as_person):
    client = as_person(region_admin)
    response = client.get(reverse("reports:index"))
    assert response["Location"] == reverse("reports:region")
    page = client.get(reverse("reports:region")).content.decode()
    assert college_url(college.org) in page and college_url(college.other) in page
    assert client.get(college_url(college.other)).status_code == 200
    assert client.get(reverse("reports:college", args=[999999])).status_code == 404


def test_college_page_marks_shortfalls_and_links_groups_to_the_directory(college, as_person):
    page = as_person(college.admin).get(college_url(college.org)).content.decode()
    assert "50,0 %" in page or "50.0 %" in page
    assert "share--short" in page
    assert reverse("admin:directory_group_change", args=[college.group_b.pk]) in page
    assert "исправить в справочнике" in page
    assert '<svg class="chart"' in page
    assert "Кружок «Робототехника»" in page


def test_groups_are_sortable(college, as_person):
    client = as_person(college.admin)
    worst = client.get(college_url(college.org)).content.decode()
    assert worst.index("ИС-11 <span") < worst.index("ИС-21 <span")
    assert client.get(college_url(college.org) + "?sort=name").status_code == 200


def test_printable_page_hides_the_chrome(college, as_person):
    page = as_person(college.admin).get(college_url(college.org) + "?print=1").content.decode()
    assert "print-view" in page


def test_menu_shows_monitoring_to_oo_admin_and_region_admin_only(
    college, region_admin, as_person, client
):
    url = reverse("reports:index")
    assert url in as_person(college.admin).get(reverse("desktop")).content.decode()
    client.logout()
    assert url not in as_person(college.teacher).get(reverse("desktop")).content.decode()
    client.logout()
    assert url in as_person(region_admin).get(reverse("desktop")).content.decode()


def _add_colleges(count):
    for n in range(count):
        org = factories.OrganizationFactory(code=f"extra-{n}", time_zone="Asia/Yekaterinburg")
        staff = factories.StaffMemberFactory(organization=org, is_admin=True)
        group = factories.GroupFactory(organization=org, curators=[staff])
        for _ in range(3):
            student = factories.StudentFactory(group=group)
            factories.GuardianFactory(organization=org, children=[student])
        chat = factories.ChatFactory(organization=org, kind="group", group=group)
        factories.ChatMemberFactory(chat=chat, person=staff.person, is_admin=True)
        factories.CallFactory(chat=chat, status="published")


# Sign-in, session, organizations and roles (the middleware and the menu), then the page's
# own: for the region, the administrator's row, the summaries' version and (the first view
# after a recount) the summaries; four for a college.
REGION_QUERIES = 6
COLLEGE_QUERIES = 16


@pytest.mark.parametrize("extra", [0, 4])
def test_region_page_queries_do_not_grow_with_colleges(
    college, region_admin, as_person, django_assert_max_num_queries, extra
):
    # 1 and 5 colleges beside КМТ: the same bound.
    _add_colleges(extra)
    services.summarize_colleges()
    client = as_person(region_admin)
    with django_assert_max_num_queries(REGION_QUERIES):
        response = client.get(reverse("reports:region"))
    assert response.status_code == 200


@pytest.mark.parametrize("viewer", ["oo_admin", "region_admin"])
@pytest.mark.parametrize("extra", [0, 4])
def test_college_page_queries_do_not_grow_with_colleges(
    college, region_admin, as_person, django_assert_max_num_queries, extra, viewer
):
    _add_colleges(extra)
    for _ in range(extra):
        group = factories.GroupFactory(organization=college.org)
        factories.StudentFactory(group=group)
    client = as_person(college.admin if viewer == "oo_admin" else region_admin)
    with django_assert_max_num_queries(COLLEGE_QUERIES):
        response = client.get(college_url(college.org))
    assert response.status_code == 200


def test_region_admin_row_is_editable_in_django_admin(db, admin_client, region_admin):
    response = admin_client.get(reverse("admin:reports_regionadministrator_changelist"))
    assert response.status_code == 200
    assert RegionAdministrator.objects.filter(person=region_admin).exists()

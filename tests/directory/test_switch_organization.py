import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def orgs():
    """Two colleges, sorted by short name, and one the person has nothing to do with."""
    return (
        factories.OrganizationFactory(short_name="Колледж А", name="ГБПОУ «Колледж А»"),
        factories.OrganizationFactory(short_name="Колледж Б", name="ГБПОУ «Колледж Б»"),
        factories.OrganizationFactory(short_name="Чужой колледж"),
    )


@pytest.fixture
def person(orgs):
    """A teacher in college А who is a parent in college Б."""
    first, second, _ = orgs
    staff = factories.StaffMemberFactory(
        organization=first,
        position="Преподаватель",
        person__last_name="Иванова",
        person__first_name="Мария",
        person__middle_name="Петровна",
    )
    child = factories.StudentFactory(group__organization=second)
    factories.GuardianFactory(organization=second, person=staff.person, children=[child])
    return staff.person


@pytest.fixture
def signed_in(client, person):
    client.force_login(person)
    return client


def switch(client, value):
    return client.post(reverse("switch_organization"), {"organization": value})


def current_org_id(client):
    return client.session.get("organization_id")


def test_a_person_acts_in_their_first_organization_by_default(signed_in, orgs):
    signed_in.get(reverse("desktop"))
    assert current_org_id(signed_in) == orgs[0].pk


def test_the_header_shows_the_current_organization_and_the_roles_in_it(signed_in, orgs):
    response = signed_in.get(reverse("desktop"))
    assert response.context["organization"] == orgs[0]
    assert f'<option value="{orgs[0].pk}" title="{orgs[0].name}" selected>' in response.text
    assert "Иванова М. П." in response.text
    assert '<span class="profile__roles">Преподаватель</span>' in response.text


def test_switching_to_an_own_organization_is_kept_in_the_session(signed_in, orgs):
    response = switch(signed_in, orgs[1].pk)
    assert response.status_code == 302
    assert response["Location"] == reverse("desktop")
    assert current_org_id(signed_in) == orgs[1].pk

    page = signed_in.get(reverse("desktop"))
    assert page.context["organization"] == orgs[1]
    assert '<span class="profile__roles">Родитель</span>' in page.text
    assert "Текущая организация: Колледж Б." in page.text


def test_switching_to_a_foreign_organization_is_refused_and_changes_nothing(signed_in, orgs):
    signed_in.get(reverse("desktop"))
    response = switch(signed_in, orgs[2].pk)
    assert response.status_code == 403
    assert "Эта организация вам недоступна." in response.text
    assert current_org_id(signed_in) == orgs[0].pk


@pytest.mark.parametrize(
    "garbage", ["", "abc", "1.5", "-1", "0x1", "99999999999999999999999", "1; DROP TABLE"]
)
def test_garbage_instead_of_an_organization_is_refused_without_an_error(signed_in, orgs, garbage):
    signed_in.get(reverse("desktop"))
    response = switch(signed_in, garbage)
    assert response.status_code == 403
    assert current_org_id(signed_in) == orgs[0].pk


def test_a_missing_organization_field_is_refused(signed_in, orgs):
    signed_in.get(reverse("desktop"))
    response = signed_in.post(reverse("switch_organization"), {})
    assert response.status_code == 403
    assert current_org_id(signed_in) == orgs[0].pk


def test_the_switch_only_accepts_post(signed_in, orgs):
    response = signed_in.get(reverse("switch_organization"), {"organization": orgs[1].pk})
    assert response.status_code == 405


def test_an_anonymous_visitor_cannot_switch(client, orgs):
    response = switch(client, orgs[0].pk)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "organization_id" not in client.session


def test_an_organization_where_the_role_was_deactivated_can_no_longer_be_chosen(
    signed_in, person, orgs
):
    person.guardian_roles.update(is_active=False)
    assert switch(signed_in, orgs[1].pk).status_code == 403


def test_a_session_pointing_to_a_lost_organization_falls_back_to_an_own_one(
    signed_in, person, orgs
):
    switch(signed_in, orgs[1].pk)
    person.guardian_roles.update(is_active=False)
    response = signed_in.get(reverse("desktop"))
    assert response.context["organization"] == orgs[0]
    assert current_org_id(signed_in) == orgs[0].pk


def test_a_person_of_one_organization_sees_its_name_and_no_switch(client):
    staff = factories.StaffMemberFactory(organization__short_name="ПК № 1")
    client.force_login(staff.person)
    response = client.get(reverse("desktop"))
    assert "ПК № 1" in response.text
    assert 'name="organization"' not in response.text


def test_an_oo_admin_is_labelled_as_such(client):
    staff = factories.StaffMemberFactory(is_admin=True, position="Заместитель директора")
    client.force_login(staff.person)
    response = client.get(reverse("desktop"))
    assert "Администратор ОО · Заместитель директора" in response.text

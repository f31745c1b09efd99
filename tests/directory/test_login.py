import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "pass-1234"  # PersonFactory's


def sign_in(client, login, password=PASSWORD, *, follow=False, **extra):
    data = {"username": login, "password": password, **extra}
    return client.post(reverse("login"), data, follow=follow)


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_sign_in_page_speaks_russian(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    for text in ("Вход в ЭПОС.СПО", "Логин", "Пароль", "Войти"):
        assert text in response.text


def test_a_teacher_signs_in_and_lands_on_the_desktop(client):
    staff = factories.StaffMemberFactory(person__login="ivanova")
    response = sign_in(client, "ivanova", follow=True)
    assert is_signed_in(client)
    assert response.redirect_chain[-1][0] == reverse("desktop")
    assert "Рабочий стол" in response.text
    assert staff.person.short_name in response.text


def test_a_wrong_password_is_refused_with_a_russian_message(client):
    factories.StaffMemberFactory(person__login="ivanova")
    response = sign_in(client, "ivanova", "not-the-password")
    assert response.status_code == 200
    assert "Неверный логин или пароль" in response.text
    assert not is_signed_in(client)


def test_an_unknown_login_gets_the_same_message_as_a_wrong_password(client):
    response = sign_in(client, "nobody")
    assert response.status_code == 200
    assert "Неверный логин или пароль" in response.text


def test_empty_fields_are_reported_in_russian(client):
    response = client.post(reverse("login"), {"username": "", "password": ""})
    assert response.status_code == 200
    assert response.text.count("Заполните это поле.") == 2


def test_a_person_without_any_active_role_cannot_sign_in(client):
    factories.PersonFactory(login="stranger")
    response = sign_in(client, "stranger")
    assert response.status_code == 200
    assert "нет действующей роли ни в одной образовательной организации" in response.text
    assert not is_signed_in(client)


def test_a_person_whose_roles_were_all_deactivated_cannot_sign_in(client):
    factories.StaffMemberFactory(person__login="left", is_active=False)
    factories.GuardianFactory(person__login="left", is_active=False)
    response = sign_in(client, "left")
    assert "нет действующей роли" in response.text
    assert not is_signed_in(client)


@pytest.mark.parametrize(
    "role",
    [factories.StaffMemberFactory, factories.StudentFactory, factories.GuardianFactory],
    ids=["staff", "student", "parent"],
)
def test_any_active_role_lets_a_person_sign_in(client, role):
    role(person__login="someone")
    sign_in(client, "someone")
    assert is_signed_in(client)


def test_support_staff_may_sign_in_without_a_college_role(client):
    factories.PersonFactory(login="support", is_staff=True)
    response = sign_in(client, "support", follow=True)
    assert is_signed_in(client)
    assert "Нет текущей организации" in response.text


def test_a_person_closed_for_sign_in_cannot_sign_in(client):
    factories.StaffMemberFactory(person__login="closed", person__is_active=False)
    response = sign_in(client, "closed")
    assert response.status_code == 200
    assert not is_signed_in(client)


def test_sign_in_returns_to_the_page_asked_for(client):
    factories.StaffMemberFactory(person__login="ivanova")
    response = sign_in(client, "ivanova", next="/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_sign_in_never_sends_a_person_to_another_site(client, next_url):
    factories.StaffMemberFactory(person__login="ivanova")
    response = sign_in(client, "ivanova", next=next_url)
    assert response.status_code == 302
    assert response["Location"] == reverse("desktop")


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("desktop"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('desktop')}"


def test_the_sign_in_page_keeps_next_in_the_form(client):
    response = client.get(reverse("login"), {"next": "/admin/"})
    assert 'name="next" value="/admin/"' in response.text


def test_a_signed_in_person_opening_the_sign_in_page_goes_to_the_desktop(client):
    client.force_login(factories.StaffMemberFactory().person)
    response = client.get(reverse("login"))
    assert response.status_code == 302
    assert response["Location"] == reverse("desktop")

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def teacher_client(client):
    client.force_login(factories.StaffMemberFactory().person)
    return client


def test_the_header_offers_sign_out_as_a_post_form(teacher_client):
    response = teacher_client.get(reverse("desktop"))
    assert f'<form method="post" action="{reverse("logout")}"' in response.text
    assert "Выйти" in response.text


def test_sign_out_ends_the_session_and_returns_to_sign_in(teacher_client):
    response = teacher_client.post(reverse("logout"), follow=True)
    assert "_auth_user_id" not in teacher_client.session
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "Вы вышли из ЭПОС.СПО." in response.text
    assert teacher_client.get(reverse("desktop")).status_code == 302


def test_sign_out_by_a_plain_link_is_refused(teacher_client):
    response = teacher_client.get(reverse("logout"))
    assert response.status_code == 405
    assert "_auth_user_id" in teacher_client.session


def test_sign_out_forgets_the_current_organization(teacher_client):
    teacher_client.get(reverse("desktop"))
    assert "organization_id" in teacher_client.session
    teacher_client.post(reverse("logout"))
    assert "organization_id" not in teacher_client.session

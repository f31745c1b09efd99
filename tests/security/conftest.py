"""Two colleges with a person of every role, chats, calls and a picker draft in the first:
the world the security tests attack."""

from types import SimpleNamespace

import pytest

from epos_chats.models import ChatDraft
from tests import factories
from tests.calls.helpers import chat, person


def build_world():
    org = factories.OrganizationFactory(code="sec-a", short_name="КПТ")
    admin = factories.StaffMemberFactory(
        organization=org, is_admin=True, person=person("sec-admin", "Админова Анна Петровна")
    )
    teacher = factories.StaffMemberFactory(
        organization=org, person=person("sec-teacher", "Учителев Иван Сергеевич")
    )
    outsider = factories.StaffMemberFactory(
        organization=org, person=person("sec-outsider", "Сторонний Пётр Петрович")
    )
    group = factories.GroupFactory(organization=org, name="ИС-11")
    student = factories.StudentFactory(
        group=group, person=person("sec-student", "Студентов Олег Олегович")
    )
    guardian = factories.GuardianFactory(
        organization=org,
        person=person("sec-guardian", "Родителева Ольга Олеговна"),
        children=[student],
    )
    teaching = factories.TeachingFactory(
        group=group,
        discipline=factories.DisciplineFactory(organization=org, name="Информатика"),
        teachers=[teacher],
        students=[student],
    )
    discipline_chat = chat(
        org,
        "discipline",
        "Информатика ИС-11",
        teaching=teaching,
        admins=[teacher],
        members=[student],
    )
    custom_chat = chat(org, "custom", "Кружок КПТ", admins=[admin, teacher], members=[student])
    call = factories.CallFactory(
        chat=custom_chat, title="Классный час", created_by=admin.person, status="published"
    )
    draft_call = factories.CallFactory(
        chat=custom_chat, title="Черновик звонка", created_by=admin.person
    )
    draft = ChatDraft.objects.create(owner=admin.person, organization=org, chat=custom_chat)
    for someone in (admin, teacher, student):
        factories.VkLinkFactory(person=someone.person)

    other_org = factories.OrganizationFactory(code="sec-b", short_name="КМТ")
    other_admin = factories.StaffMemberFactory(
        organization=other_org, is_admin=True, person=person("sec-other", "Чужой Глеб Глебович")
    )
    factories.VkLinkFactory(person=other_admin.person)
    other_chat = chat(other_org, "custom", "Чат КМТ", admins=[other_admin])
    other_draft = ChatDraft.objects.create(owner=other_admin.person, organization=other_org)
    return SimpleNamespace(**locals())


@pytest.fixture
def world(db):
    return build_world()

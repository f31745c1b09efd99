"""Who may do what to which chat (F12, F14, F17, F18), through HTTP, whatever the request.

Every cell of the matrix roles × actions × chat kinds is a test: the expected status, and —
when refused — that the chats, their members and the audit log stay exactly as they were.
"""

import uuid

import pytest
from django.urls import reverse

from epos_chats import picker
from epos_chats.models import AuditEvent, Chat, ChatDraftMember, ChatMember
from tests import factories

pytestmark = pytest.mark.django_db

ROLES = (
    "oo_admin",
    "chat_admin",
    "curator",
    "teacher",
    "teacher_without",
    "staff",
    "student",
    "parent",
    "stranger",
)


class World:
    """One college with a mandatory «Группа», a «Произвольный чат» and a «Дисциплина» chat, and
    one person for each role; a stranger is an OO admin of another college."""

    def __init__(self):
        self.org = org = factories.OrganizationFactory(short_name="ПК № 7")
        other = factories.OrganizationFactory(short_name="Чужой")

        def staff(**fields):
            person = factories.StaffMemberFactory(organization=org, **fields)
            factories.VkLinkFactory(person=person.person)
            return person

        self.roles = {
            "oo_admin": staff(is_admin=True),
            "chat_admin": staff(position="Педагог-организатор"),
            "curator": staff(position="Преподаватель, куратор"),
            "teacher": staff(),
            "teacher_without": staff(),
            "staff": staff(position="Библиотекарь"),
        }
        self.group = factories.GroupFactory(
            organization=org, name="ИС-21", curators=[self.roles["curator"]]
        )
        self.roles["student"] = factories.StudentFactory(organization=org, group=self.group)
        self.newcomer = factories.StudentFactory(organization=org, group=self.group).person
        self.roles["parent"] = factories.GuardianFactory(
            organization=org, children=[self.roles["student"]]
        )
        self.roles["stranger"] = factories.StaffMemberFactory(organization=other, is_admin=True)
        for role in ("student", "parent", "stranger"):
            factories.VkLinkFactory(person=self.roles[role].person)
        self.people = {role: membership.person for role, membership in self.roles.items()}

        informatics = factories.DisciplineFactory(organization=org, name="Информатика")
        self.teaching = factories.TeachingFactory(
            organization=org,
            group=self.group,
            discipline=informatics,
            teachers=[self.roles["teacher"]],
        )
        self.free_teaching = factories.TeachingFactory(
            organization=org,
            group=self.group,
            discipline=factories.DisciplineFactory(organization=org, name="История"),
            teachers=[self.roles["teacher"]],
        )
        p = self.people
        self.chats = {
            "mandatory": self._chat(
                "Группа ИС-21",
                "group",
                {p["curator"]: True, p["chat_admin"]: True, p["student"]: False},
                group=self.group,
            ),
            "custom": self._chat(
                "Кружок",
                "custom",
                {
                    p["chat_admin"]: True,
                    p["curator"]: False,
                    p["staff"]: False,
                    p["student"]: False,
                    p["parent"]: False,
                },
            ),
            "discipline": self._chat(
                "Информатика ИС-21",
                "discipline",
                {p["teacher"]: True, p["chat_admin"]: True, p["student"]: False},
                teaching=self.teaching,
            ),
        }

    def _chat(self, title, kind, members, **fields):
        chat = factories.ChatFactory(organization=self.org, title=title, kind=kind, **fields)
        for person, is_admin in members.items():
            factories.ChatMemberFactory(chat=chat, person=person, is_admin=is_admin)
        return chat

    def state(self):
        """Everything a refused request must leave as it was."""
        return (
            list(
                Chat.objects.order_by("pk").values_list("pk", "title", "deleted_at", "changed_at")
            ),
            sorted(ChatMember.objects.values_list("chat_id", "person_id", "is_admin")),
            AuditEvent.objects.count(),
        )


@pytest.fixture
def world():
    return World()


# --- chat actions ---------------------------------------------------------------------------


def view(client, world, chat, person):
    return client.get(reverse("epos_chats:settings", args=[chat.pk]))


def rename(client, world, chat, person):
    return client.post(
        reverse("epos_chats:rename", args=[chat.pk]),
        {"title": "Новое название", "seen": chat.title},
    )


def add_members(client, world, chat, person):
    draft = picker.draft_open(owner=person, organization=world.org, chat=chat)
    ChatDraftMember.objects.create(draft=draft, person=world.newcomer)
    chat.refresh_from_db()
    return client.post(
        reverse("epos_chats:members", args=[chat.pk]),
        {"draft": draft.pk, "seen": chat.changed_at.isoformat()},
    )


def remove_member(client, world, chat, person):
    student = world.people["student"]
    return client.post(reverse("epos_chats:member_remove", args=[chat.pk, student.pk]))


def grant_admin(client, world, chat, person):
    student = world.people["student"]
    return client.post(
        reverse("epos_chats:member_admin", args=[chat.pk, student.pk]), {"is_admin": "1"}
    )


def delete(client, world, chat, person):
    return client.post(reverse("epos_chats:delete", args=[chat.pk]))


def done(action, world, chat):
    """Whether an allowed action really changed the chat."""
    chat.refresh_from_db()
    members = dict(ChatMember.objects.filter(chat=chat).values_list("person_id", "is_admin"))
    student = world.people["student"].pk
    return {
        rename: lambda: chat.title == "Новое название",
        add_members: lambda: world.newcomer.pk in members,
        remove_member: lambda: student not in members,
        grant_admin: lambda: members.get(student) is True,
        delete: lambda: chat.deleted_at is not None,
    }[action]()


ACTIONS = (view, rename, add_members, remove_member, grant_admin, delete)

# F7 view; F12 mandatory chats view-only; F17/F18: an OO admin on every non-mandatory chat of
# the college, a chat admin on theirs; a «Дисциплина» chat keeps its name; another college: 404.
#                                  view  rename members remove admin delete
CHAT_MATRIX = {
    ("oo_admin", "mandatory"):       (200, 403, 403, 403, 403, 403),
    ("oo_admin", "custom"):          (200, 302, 302, 302, 302, 302),
    ("oo_admin", "discipline"):      (200, 403, 302, 302, 302, 302),
    ("chat_admin", "mandatory"):     (200, 403, 403, 403, 403, 403),
    ("chat_admin", "custom"):        (200, 302, 302, 302, 302, 302),
    ("chat_admin", "discipline"):    (200, 403, 302, 302, 302, 302),
    ("curator", "mandatory"):        (200, 403, 403, 403, 403, 403),
    ("curator", "custom"):           (200, 403, 403, 403, 403, 403),
    ("curator", "discipline"):       (403, 403, 403, 403, 403, 403),
    ("teacher", "mandatory"):        (403, 403, 403, 403, 403, 403),
    ("teacher", "custom"):           (403, 403, 403, 403, 403, 403),
    ("teacher", "discipline"):       (200, 403, 302, 302, 302, 302),
    ("teacher_without", "mandatory"): (403, 403, 403, 403, 403, 403),
    ("teacher_without", "custom"):   (403, 403, 403, 403, 403, 403),
    ("teacher_without", "discipline"): (403, 403, 403, 403, 403, 403),
    ("staff", "mandatory"):          (403, 403, 403, 403, 403, 403),
    ("staff", "custom"):             (200, 403, 403, 403, 403, 403),
    ("staff", "discipline"):         (403, 403, 403, 403, 403, 403),
    ("student", "mandatory"):        (200, 403, 403, 403, 403, 403),
    ("student", "custom"):           (200, 403, 403, 403, 403, 403),
    ("student", "discipline"):       (200, 403, 403, 403, 403, 403),
    ("parent", "mandatory"):         (403, 403, 403, 403, 403, 403),
    ("parent", "custom"):            (200, 403, 403, 403, 403, 403),
    ("parent", "discipline"):        (403, 403, 403, 403, 403, 403),
    ("stranger", "mandatory"):       (404, 404, 404, 404, 404, 404),
    ("stranger", "custom"):          (404, 404, 404, 404, 404, 404),
    ("stranger", "discipline"):      (404, 404, 404, 404, 404, 404),
}  # fmt: skip


def test_the_matrix_covers_every_role_and_kind():
    assert set(CHAT_MATRIX) == {
        (r, k) for r in ROLES for k in ("mandatory", "custom", "discipline")
    }


@pytest.mark.parametrize(
    ("role", "kind", "action", "status"),
    [
        pytest.param(role, kind, action, status, id=f"{role}-{action.__name__}-{kind}")
        for (role, kind), statuses in CHAT_MATRIX.items()
        for action, status in zip(ACTIONS, statuses, strict=True)
    ],
)
def test_each_role_may_do_to_each_chat_exactly_what_the_seed_allows(
    client, world, role, kind, action, status
):
    person, chat = world.people[role], world.chats[kind]
    client.force_login(person)
    before = world.state()

    response = action(client, world, chat, person)

    assert response.status_code == status
    if action is view:
        assert world.state() == before
    elif status == 302:
        assert done(action, world, chat)
        assert AuditEvent.objects.count() == before[2] + 1
    else:
        assert world.state() == before


# --- creating chats -------------------------------------------------------------------------


def open_new(client, world, person):
    return client.get(reverse("epos_chats:create"))


def create_custom(client, world, person):
    staff = person.staff_roles.first()
    draft = picker.draft_open(owner=person, organization=staff.organization if staff else world.org)
    # Written behind the picker's back: a stranger's crafted draft holds our student too.
    ChatDraftMember.objects.create(draft=draft, person=world.people["student"])
    return client.post(
        reverse("epos_chats:create_custom"),
        {"draft": draft.pk, "title": "Кружок", "request_key": str(uuid.uuid4())},
    )


def create_discipline(client, world, person):
    return client.post(
        reverse("epos_chats:create_discipline"),
        {"teaching": world.free_teaching.pk, "request_key": str(uuid.uuid4())},
    )


CREATE_ACTIONS = (open_new, create_custom, create_discipline)

# F14: an OO admin and a teacher with a group-by-discipline. The stranger is an OO admin of
# their own college: they may open the dialog there, but a draft holding our student is
# refused with the service's message, and our group-by-discipline does not exist for them.
#                      open  custom discipline
CREATE_MATRIX = {
    "oo_admin":        (200, 302, 302),
    "chat_admin":      (403, 403, 403),
    "curator":         (403, 403, 403),
    "teacher":         (200, 302, 302),
    "teacher_without": (403, 403, 403),
    "staff":           (403, 403, 403),
    "student":         (403, 403, 403),
    "parent":          (403, 403, 403),
    "stranger":        (200, 200, 404),
}  # fmt: skip


@pytest.mark.parametrize(
    ("role", "action", "status"),
    [
        pytest.param(role, action, status, id=f"{role}-{action.__name__}")
        for role, statuses in CREATE_MATRIX.items()
        for action, status in zip(CREATE_ACTIONS, statuses, strict=True)
    ],
)
def test_only_an_oo_admin_and_a_teacher_with_a_group_by_discipline_create_chats(
    client, world, role, action, status
):
    person = world.people[role]
    client.force_login(person)
    before = world.state()

    response = action(client, world, person)

    assert response.status_code == status
    if action is not open_new and status == 302:
        assert Chat.objects.count() == len(before[0]) + 1
    else:
        assert world.state() == before
    if role == "stranger" and action is create_custom:
        assert "Участниками могут быть только сотрудники" in response.content.decode()


def test_the_new_chat_button_is_shown_only_to_those_who_may_create(client, world):
    new_url = reverse("epos_chats:create")
    for role in ROLES[:-1]:
        client.force_login(world.people[role])
        html = client.get(reverse("epos_chats:index")).content.decode()
        assert (f'href="{new_url}"' in html) == (role in ("oo_admin", "teacher")), role


@pytest.mark.parametrize(
    "url_name", ["epos_chats:rename", "epos_chats:members", "epos_chats:delete"]
)
def test_the_forms_of_a_mandatory_chat_are_refused_even_to_an_oo_admin(client, world, url_name):
    client.force_login(world.people["oo_admin"])
    chat = world.chats["mandatory"]
    response = client.get(reverse(url_name, args=[chat.pk]))
    assert response.status_code == 403
    assert "Обязательный чат" in response.content.decode()


def test_removing_a_member_of_a_mandatory_chat_is_refused_even_by_its_curator(client, world):
    client.force_login(world.people["curator"])
    chat = world.chats["mandatory"]
    student = world.people["student"]
    before = world.state()
    url = reverse("epos_chats:member_remove", args=[chat.pk, student.pk])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert world.state() == before


def test_the_settings_of_a_mandatory_chat_stay_view_only(client, world):
    client.force_login(world.people["oo_admin"])
    html = client.get(
        reverse("epos_chats:settings", args=[world.chats["mandatory"].pk])
    ).content.decode()
    main = html.split('id="content"', 1)[1]
    assert "Обязательный чат" in main
    for control in (
        "Переименовать",
        "Удалить чат",
        "Редактировать состав участников",
        "Удалить из чата",
    ):
        assert control not in main


def test_a_manager_sees_every_editing_control(client, world):
    client.force_login(world.people["chat_admin"])
    html = client.get(
        reverse("epos_chats:settings", args=[world.chats["custom"].pk])
    ).content.decode()
    for control in (
        "Переименовать",
        "Удалить чат",
        "Редактировать состав участников",
        "Назначить администратором чата",
        "Снять права администратора",
        "Удалить из чата",
    ):
        assert control in html


def test_a_discipline_chat_offers_no_rename(client, world):
    client.force_login(world.people["oo_admin"])
    html = client.get(
        reverse("epos_chats:settings", args=[world.chats["discipline"].pk])
    ).content.decode()
    assert "Переименовать" not in html and "Удалить чат" in html

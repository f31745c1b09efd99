"""«+ Новый чат» (F14), «Произвольный чат» (F15) and «Дисциплина» (F16) through HTTP: the
dialog, the name with the college's short name, creation, double submits and the messages."""

import re
import uuid

import pytest
from django.urls import reverse

from epos_chats import picker
from epos_chats.models import AuditEvent, Chat, ChatMember
from tests import factories

pytestmark = pytest.mark.django_db

NEW = reverse("epos_chats:create")
CUSTOM = reverse("epos_chats:create_custom")
DISCIPLINE = reverse("epos_chats:create_discipline")


def text(response):
    return " ".join(response.content.decode().split())


def visible(response):
    """The page's words as a reader sees them, tags removed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def linked(person):
    factories.VkLinkFactory(person=person)
    return person


@pytest.fixture
def org():
    return factories.OrganizationFactory(
        short_name="ПК № 7", name="ГБПОУ «Политехнический колледж № 7»"
    )


@pytest.fixture
def admin(org):
    return linked(factories.StaffMemberFactory(organization=org, is_admin=True).person)


@pytest.fixture
def group(org):
    return factories.GroupFactory(organization=org, name="ИС-21", course=2)


@pytest.fixture
def students(org, group):
    return [factories.StudentFactory(organization=org, group=group).person for _ in range(3)]


@pytest.fixture
def teacher(org):
    return factories.StaffMemberFactory(
        organization=org,
        person__last_name="Орлова",
        person__first_name="Вера",
        person__middle_name="Ильинична",
    )


@pytest.fixture
def teaching(org, group, teacher):
    return factories.TeachingFactory(
        organization=org,
        group=group,
        discipline=factories.DisciplineFactory(organization=org, name="Информатика"),
        teachers=[teacher],
    )


def open_draft(client, person):
    """GET the page as the browser does: it opens a draft and sends the person to ?draft=…"""
    client.force_login(person)
    response = client.get(CUSTOM)
    assert response.status_code == 302
    draft_id = int(response["Location"].split("draft=")[1])
    return picker.draft_of(
        owner=person, organization=person.staff_roles.first().organization, draft_id=draft_id
    )


def create(client, draft, title="Кружок робототехники", add_short_name=True, key=None, **extra):
    data = {"draft": draft.pk, "title": title, "request_key": str(key or uuid.uuid4()), **extra}
    if add_short_name:
        data["add_short_name"] = "on"
    return client.post(CUSTOM, data)


# F14: the dialog


def test_the_new_chat_dialog_offers_vk_messenger_and_the_two_types(client, admin):
    client.force_login(admin)
    response = client.get(NEW)
    assert response.status_code == 200
    html = text(response)
    assert "Новый чат" in html
    assert "VK Мессенджер" in html
    assert '<option value="custom" selected>Произвольный чат</option>' in html
    assert '<option value="discipline">Дисциплина</option>' in html


def test_epos_is_offered_now_that_its_flow_has_a_page(client, admin):
    client.force_login(admin)
    assert 'value="epos"' in text(client.get(NEW))
    assert client.get(NEW, {"platform": "epos"})["Location"] == reverse("epos_chats:epos_create")


def test_the_dialog_opens_as_a_modal_for_htmx(client, admin):
    client.force_login(admin)
    html = client.get(NEW, headers={"HX-Request": "true"}).content.decode()
    assert '<dialog class="modal"' in html
    assert "<html" not in html


def test_choosing_vk_and_a_type_leads_to_its_page(client, admin):
    client.force_login(admin)
    assert client.get(NEW, {"platform": "vk", "kind": "custom"})["Location"] == CUSTOM
    assert client.get(NEW, {"platform": "vk", "kind": "discipline"})["Location"] == DISCIPLINE
    htmx = client.get(NEW, {"platform": "vk", "kind": "discipline"}, headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == DISCIPLINE


def test_the_chats_page_links_new_chat_to_the_dialog(client, admin):
    client.force_login(admin)
    assert f'href="{NEW}"' in client.get(reverse("epos_chats:index")).content.decode()


def test_a_creator_without_a_vk_id_link_is_sent_to_link_it_first(client, org):
    unlinked = factories.StaffMemberFactory(organization=org, is_admin=True).person
    client.force_login(unlinked)
    response = client.get(NEW, follow=True)
    assert response.redirect_chain[-1][0] == reverse("epos_chats:index")
    assert "доступно после привязки учебного профиля VK ID" in text(response)


def test_a_teacher_with_a_group_by_discipline_may_open_the_dialog(client, teacher, teaching):
    client.force_login(linked(teacher.person))
    assert client.get(NEW).status_code == 200


def test_a_teacher_without_a_group_by_discipline_gets_403(client, org):
    idle = linked(factories.StaffMemberFactory(organization=org).person)
    client.force_login(idle)
    response = client.get(NEW)
    assert response.status_code == 403
    assert "Создавать чаты могут администратор ОО" in text(response)


# F15: «Произвольный чат»


def test_opening_the_page_starts_a_draft_whose_id_travels_in_the_address(client, admin):
    client.force_login(admin)
    response = client.get(CUSTOM)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{CUSTOM}?draft=")
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = text(page)
    assert "Наименование чата" in html
    assert 'name="add_short_name" value="on" checked' in html
    assert "Добавить краткое наименование ОО «ПК № 7»" in html
    assert 'name="request_key" value="' in html
    for tab in ("Все", "Родители", "Обучающиеся", "Сотрудники", "Выбранные (0)"):
        assert tab in visible(page)
    assert "Создать чат" in html


def test_the_name_preview_appends_the_colleges_short_name(client, admin):
    client.force_login(admin)
    preview = reverse("epos_chats:title_preview")
    html = text(client.get(preview, {"title": "Кружок", "add_short_name": "on"}))
    assert '<strong class="title-preview__value">Кружок ПК № 7</strong>' in html
    html = text(client.get(preview, {"title": "Кружок"}))
    assert '<strong class="title-preview__value">Кружок</strong>' in html
    html = text(client.get(preview, {"title": "Кружок ПК № 7", "add_short_name": "on"}))
    assert "Кружок ПК № 7 ПК № 7" not in html


def test_creating_a_custom_chat_returns_to_chats_with_the_new_chat_on_top(client, admin, students):
    draft = open_draft(client, admin)
    picker.draft_select(draft, students[0].pk, selected=True)
    picker.draft_set_admin(draft, students[1].pk, is_admin=True)

    response = create(client, draft)

    chat = Chat.objects.get(title="Кружок робототехники ПК № 7")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('epos_chats:index')}?sort=changed#chat-{chat.pk}"
    assert chat.kind == "custom" and chat.created_by == admin
    members = dict(ChatMember.objects.filter(chat=chat).values_list("person_id", "is_admin"))
    assert members == {students[0].pk: False, students[1].pk: True}
    page = client.get(response["Location"])
    assert "Чат «Кружок робототехники ПК № 7» создан." in text(page)
    assert page.context["page"].object_list[0] == chat


def test_without_the_short_name_the_chat_keeps_the_typed_name(client, admin, students):
    draft = open_draft(client, admin)
    picker.draft_select(draft, students[0].pk, selected=True)
    create(client, draft, title="  Кружок   робототехники ", add_short_name=False)
    assert Chat.objects.filter(title="Кружок робототехники").exists()


def test_with_no_admin_marked_the_creator_becomes_the_chat_admin(client, admin, students):
    draft = open_draft(client, admin)
    picker.draft_select(draft, students[0].pk, selected=True)
    create(client, draft)
    chat = Chat.objects.get()
    assert ChatMember.objects.get(chat=chat, person=admin).is_admin


def test_a_double_submit_creates_one_chat(client, admin, students):
    draft = open_draft(client, admin)
    picker.draft_select(draft, students[0].pk, selected=True)
    key = uuid.uuid4()
    first = create(client, draft, key=key)
    second = create(client, draft, key=key)
    assert Chat.objects.count() == 1
    assert AuditEvent.objects.filter(action="chat_created").count() == 1
    assert first["Location"] == second["Location"]
    assert "Чат уже создан" in text(client.get(second["Location"]))


@pytest.mark.parametrize(
    ("title", "members", "message"),
    [
        ("   ", True, "Укажите название чата."),
        ("К" * 256, True, "Название чата — не длиннее 255 символов"),
        ("Кружок", False, "Выберите хотя бы одного участника чата."),
    ],
)
def test_an_invalid_chat_is_refused_with_its_message_and_nothing_is_lost(
    client, admin, students, title, members, message
):
    draft = open_draft(client, admin)
    if members:
        picker.draft_select(draft, students[0].pk, selected=True)
    key = uuid.uuid4()
    with_members = dict(picker.draft_members(draft))

    response = create(client, draft, title=title, add_short_name=False, key=key)

    assert response.status_code == 200
    html = text(response)
    assert message in html
    assert Chat.objects.count() == 0
    # The name, the key and the selection stay as they were.
    assert f'value="{key}"' in html
    assert f'value="{title.strip() if title.strip() else ""}"' in html or len(title) > 255
    assert picker.draft_members(draft) == with_members


def test_too_long_a_name_is_reported_in_the_preview_too(client, admin):
    client.force_login(admin)
    html = text(
        client.get(
            reverse("epos_chats:title_preview"), {"title": "К" * 250, "add_short_name": "on"}
        )
    )
    assert "длиннее 255 символов (257)" in html


def test_people_of_another_college_in_the_draft_are_refused(client, admin, students):
    draft = open_draft(client, admin)
    stranger = factories.StudentFactory().person
    # draft_select refuses strangers; a draft row written behind its back is still refused.
    draft.members.create(person=stranger)
    response = create(client, draft)
    assert "Участниками могут быть только сотрудники, обучающиеся и родители вашей организации" in (
        text(response)
    )
    assert Chat.objects.count() == 0


def test_someone_elses_draft_is_not_found(client, admin, org):
    other_admin = linked(factories.StaffMemberFactory(organization=org, is_admin=True).person)
    draft = picker.draft_open(owner=other_admin, organization=org)
    client.force_login(admin)
    assert create(client, draft).status_code == 404
    # Opening the page with it starts a fresh draft of one's own instead.
    response = client.get(CUSTOM, {"draft": draft.pk})
    assert response.status_code == 302 and f"draft={draft.pk}" not in response["Location"]


# F16: «Дисциплина»


def test_a_teacher_is_offered_only_their_own_groups_by_discipline(client, org, teacher, teaching):
    foreign = factories.TeachingFactory(
        organization=org, discipline=factories.DisciplineFactory(organization=org, name="История")
    )
    client.force_login(linked(teacher.person))
    html = text(client.get(DISCIPLINE))
    assert f'<option value="{teaching.pk}">ИС-21 — Информатика</option>' in html
    assert f'value="{foreign.pk}"' not in html


def test_an_oo_admin_is_offered_every_group_by_discipline_of_the_college(
    client, org, admin, teaching
):
    other = factories.TeachingFactory(
        organization=org, discipline=factories.DisciplineFactory(organization=org, name="История")
    )
    elsewhere = factories.TeachingFactory()
    client.force_login(admin)
    html = text(client.get(DISCIPLINE))
    assert f'value="{teaching.pk}"' in html and f'value="{other.pk}"' in html
    assert f'value="{elsewhere.pk}"' not in html


def test_the_chosen_group_by_discipline_shows_the_derived_name_and_member_count(
    client, teacher, teaching, students
):
    client.force_login(linked(teacher.person))
    html = text(client.get(DISCIPLINE, {"teaching": teaching.pk}))
    assert "<strong>Информатика ИС-21</strong>" in html
    assert "изменить его нельзя" in html
    assert "Участники 4 — преподаватели: 1 (администраторы чата), обучающиеся: 3" in (
        visible(client.get(DISCIPLINE, {"teaching": teaching.pk}))
    )
    partial = client.get(
        DISCIPLINE,
        {"teaching": teaching.pk},
        headers={"HX-Request": "true", "HX-Target": "discipline-preview"},
    ).content.decode()
    assert partial.lstrip().startswith('<div id="discipline-preview"')


def test_a_teacher_creates_the_chat_of_their_group_by_discipline(
    client, teacher, teaching, students
):
    client.force_login(linked(teacher.person))
    response = client.post(DISCIPLINE, {"teaching": teaching.pk, "request_key": str(uuid.uuid4())})
    chat = Chat.objects.get(kind="discipline")
    assert response.status_code == 302
    assert chat.title == "Информатика ИС-21" and chat.teaching == teaching
    members = dict(ChatMember.objects.filter(chat=chat).values_list("person_id", "is_admin"))
    assert members == {teacher.person_id: True, **{s.pk: False for s in students}}
    assert "Чат «Информатика ИС-21» создан." in text(client.get(response["Location"]))


def test_a_second_chat_of_one_group_by_discipline_is_refused_with_a_message(
    client, admin, teaching, students
):
    client.force_login(admin)
    client.post(DISCIPLINE, {"teaching": teaching.pk, "request_key": str(uuid.uuid4())})
    response = client.post(DISCIPLINE, {"teaching": teaching.pk, "request_key": str(uuid.uuid4())})
    assert response.status_code == 200
    assert "Чат по этой группе по дисциплине уже есть: «Информатика ИС-21»" in text(response)
    assert Chat.objects.filter(kind="discipline").count() == 1


def test_a_double_submit_of_a_discipline_chat_creates_one(client, admin, teaching):
    client.force_login(admin)
    key = str(uuid.uuid4())
    client.post(DISCIPLINE, {"teaching": teaching.pk, "request_key": key})
    second = client.post(DISCIPLINE, {"teaching": teaching.pk, "request_key": key})
    assert second.status_code == 302
    assert Chat.objects.filter(kind="discipline").count() == 1


def test_a_teacher_cannot_create_a_chat_of_someone_elses_group_by_discipline(
    client, org, teacher, teaching
):
    foreign = factories.TeachingFactory(organization=org)
    client.force_login(linked(teacher.person))
    response = client.post(DISCIPLINE, {"teaching": foreign.pk, "request_key": str(uuid.uuid4())})
    assert response.status_code == 200
    assert "Можно создать чат только по своей группе по дисциплине." in text(response)
    assert not Chat.objects.exists()


def test_a_group_by_discipline_of_another_college_is_not_found(client, admin):
    elsewhere = factories.TeachingFactory()
    client.force_login(admin)
    assert client.post(DISCIPLINE, {"teaching": elsewhere.pk}).status_code == 404
    assert client.get(DISCIPLINE, {"teaching": elsewhere.pk}).status_code == 404
    assert not Chat.objects.exists()


def test_a_malformed_teaching_id_is_a_message_not_an_error(client, admin):
    client.force_login(admin)
    response = client.post(DISCIPLINE, {"teaching": "x; drop"})
    assert response.status_code == 200
    assert "Выберите группу по дисциплине." in text(response)


def test_without_javascript_the_final_name_is_shown_with_the_forms_answer(client, admin):
    draft = open_draft(client, admin)
    response = create(client, draft, title="Кружок")  # nobody ticked yet
    assert "Выберите хотя бы одного участника чата." in text(response)
    assert "Название чата: Кружок ПК № 7" in visible(response)

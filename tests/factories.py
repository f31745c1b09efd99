"""Factories for every model the tests build; one place, so a new required field is added once."""

import datetime as dt

import factory
from factory.django import DjangoModelFactory

from directory import models


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = models.Organization
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"college-{n}")
    name = factory.Sequence(lambda n: f"ГБПОУ «Колледж № {n}»")
    short_name = factory.Sequence(lambda n: f"К-{n}")


class PersonFactory(DjangoModelFactory):
    class Meta:
        model = models.Person
        django_get_or_create = ("login",)
        skip_postgeneration_save = True

    login = factory.Sequence(lambda n: f"person{n}")
    last_name = factory.Faker("last_name", locale="ru_RU")
    first_name = factory.Faker("first_name", locale="ru_RU")
    middle_name = factory.Faker("middle_name", locale="ru_RU")
    password = factory.django.Password("pass-1234")


class StaffMemberFactory(DjangoModelFactory):
    class Meta:
        model = models.StaffMember

    organization = factory.SubFactory(OrganizationFactory)
    person = factory.SubFactory(PersonFactory)
    external_id = factory.Sequence(lambda n: f"s-{n}")
    position = "Преподаватель"
    is_admin = False


class DisciplineFactory(DjangoModelFactory):
    class Meta:
        model = models.Discipline

    organization = factory.SubFactory(OrganizationFactory)
    external_id = factory.Sequence(lambda n: f"d-{n}")
    name = factory.Iterator(["Информатика", "Математика", "История", "Физика", "Английский язык"])


class GroupFactory(DjangoModelFactory):
    class Meta:
        model = models.Group
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    external_id = factory.Sequence(lambda n: f"g-{n}")
    name = factory.Sequence(lambda n: f"ИС-{n}")
    course = 1

    @factory.post_generation
    def curators(self, create, extracted, **kwargs):
        if create and extracted:
            self.curators.set(extracted)


class StudentFactory(DjangoModelFactory):
    class Meta:
        model = models.Student

    group = factory.SubFactory(GroupFactory)
    organization = factory.SelfAttribute("group.organization")
    person = factory.SubFactory(PersonFactory)
    external_id = factory.Sequence(lambda n: f"st-{n}")


class GuardianFactory(DjangoModelFactory):
    class Meta:
        model = models.Guardian
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    person = factory.SubFactory(PersonFactory)
    external_id = factory.Sequence(lambda n: f"p-{n}")

    @factory.post_generation
    def children(self, create, extracted, **kwargs):
        if create and extracted:
            self.children.set(extracted)


class TeachingFactory(DjangoModelFactory):
    class Meta:
        model = models.Teaching
        skip_postgeneration_save = True

    group = factory.SubFactory(GroupFactory)
    organization = factory.SelfAttribute("group.organization")
    discipline = factory.SubFactory(
        DisciplineFactory, organization=factory.SelfAttribute("..organization")
    )
    external_id = factory.Sequence(lambda n: f"t-{n}")

    @factory.post_generation
    def teachers(self, create, extracted, **kwargs):
        if create and extracted:
            self.teachers.set(extracted)

    @factory.post_generation
    def students(self, create, extracted, **kwargs):
        if create and extracted:
            self.students.set(extracted)


class LessonFactory(DjangoModelFactory):
    class Meta:
        model = models.Lesson

    teaching = factory.SubFactory(TeachingFactory)
    date = factory.LazyFunction(dt.date.today)
    start = dt.time(8, 30)
    end = dt.time(10, 0)


class ChatFactory(DjangoModelFactory):
    class Meta:
        model = "epos_chats.Chat"

    organization = factory.SubFactory(OrganizationFactory)
    kind = "custom"
    platform = "vk"
    title = factory.Sequence(lambda n: f"Чат {n}")


class ChatMemberFactory(DjangoModelFactory):
    class Meta:
        model = "epos_chats.ChatMember"

    chat = factory.SubFactory(ChatFactory)
    person = factory.SubFactory(PersonFactory)
    is_admin = False


class VkLinkFactory(DjangoModelFactory):
    class Meta:
        model = "vk_sync.VkLink"

    person = factory.SubFactory(PersonFactory)
    vk_user_id = factory.Sequence(lambda n: 100000 + n)


class CallFactory(DjangoModelFactory):
    """An online call; `status="published"` or `"finished"` fills in the matching moments."""

    class Meta:
        model = "calls.OnlineCall"

    chat = factory.SubFactory(ChatFactory)
    title = factory.Sequence(lambda n: f"Онлайн-звонок {n}")
    starts_at = factory.LazyFunction(lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    status = "created"
    created_by = factory.SubFactory(PersonFactory)
    last_actor = factory.SelfAttribute("created_by")
    created_at = factory.LazyFunction(lambda: dt.datetime.now(dt.UTC))
    changed_at = factory.SelfAttribute("created_at")
    published_at = factory.LazyAttribute(
        lambda call: call.created_at if call.status in ("published", "finished") else None
    )
    finished_at = factory.LazyAttribute(
        lambda call: call.created_at if call.status == "finished" else None
    )
